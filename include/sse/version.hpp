// Version of the sse library. Kept in step with the CMake project version,
// which CMakeLists.txt reads from this file.
#ifndef SSE_VERSION_HPP
#define SSE_VERSION_HPP

#define SSE_VERSION_MAJOR 0
#define SSE_VERSION_MINOR 1
#define SSE_VERSION_PATCH 0

/// One number for comparisons: major * 10000 + minor * 100 + patch.
#define SSE_VERSION (SSE_VERSION_MAJOR * 10000 + SSE_VERSION_MINOR * 100 + SSE_VERSION_PATCH)

#endif
