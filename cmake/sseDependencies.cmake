# Finds what sse::sse needs, the same way in sse's own build and in a consumer's build
# (the installed sseConfig.cmake includes this file before sseTargets.cmake).
#
# Defines these targets (GLOBAL, so a later find_package(sse) in another directory sees them):
#   sse_deps::asio    standalone Asio (>= 1.22); no compile definitions (see below)
#   sse_deps::llhttp  llhttp (HTTP/1.1 parser, a C library)
# and finds Threads::Threads (in the including directory).
#
# Each dependency is looked for in this order:
#   Asio:   find_package(asio CONFIG) -> the system header asio.hpp (Debian libasio-dev)
#           -> FetchContent of the Asio release tarball (header-only).
#   llhttp: find_package(llhttp CONFIG) -> an installed llhttp.h + libllhttp
#           -> the C sources Debian's node-llhttp ships (/usr/share/llhttp/*.c), built here as
#              the static library sse_llhttp -> FetchContent of the llhttp release, built the same way.
#
# Knobs (cache variables): SSE_FETCH_DEPS (skip the system look-ups, always fetch),
# SSE_ASIO_URL, SSE_LLHTTP_URL (where to fetch from, e.g. a local mirror or tarball),
# SSE_LLHTTP_SOURCE_DIR / SSE_LLHTTP_SOURCE_INCLUDE_DIR (where Debian's sources are).
#
# Also defines the macro sse_find_optional_dependencies(), which looks for OpenSSL and hiredis,
# sets SSE_HAVE_OPENSSL / SSE_HAVE_HIREDIS in the caller's scope and, when found, the targets
# OpenSSL::SSL / OpenSSL::Crypto and sse_deps::hiredis, and the components sse::tls and
# sse::redis (sse::sse plus the dependency). Nothing optional is linked to sse::sse.

include_guard(DIRECTORY)

set(SSE_FETCH_DEPS OFF CACHE BOOL "Skip the system look-up of Asio and llhttp and always fetch them")
set(SSE_ASIO_URL "https://github.com/chriskohlhoff/asio/archive/refs/tags/asio-1-30-2.tar.gz"
    CACHE STRING "Asio release tarball used when no installed Asio is found")
set(SSE_LLHTTP_URL "https://github.com/nodejs/llhttp/archive/refs/tags/release/v9.2.1.tar.gz"
    CACHE STRING "llhttp release tarball (the release/ branch, with generated C sources) used as last resort")
set(SSE_LLHTTP_SOURCE_DIR "/usr/share/llhttp"
    CACHE PATH "Directory holding llhttp's api.c, http.c and llhttp.c (Debian node-llhttp)")
set(SSE_LLHTTP_SOURCE_INCLUDE_DIR "/usr/share/include/llhttp"
    CACHE PATH "Directory holding llhttp.h that goes with SSE_LLHTTP_SOURCE_DIR")

# Extracted files get the time of extraction (CMP0135's NEW behaviour), where CMake knows the option.
set(_sse_fetch_opts "")
if(NOT CMAKE_VERSION VERSION_LESS 3.24)
  set(_sse_fetch_opts DOWNLOAD_EXTRACT_TIMESTAMP TRUE)
endif()

# Prints a STATUS line unless the including find_package(sse) was QUIET.
function(_sse_deps_status text)
  if(NOT sse_FIND_QUIETLY)
    message(STATUS "sse: ${text}")
  endif()
endfunction()

# Makes an imported target visible in every directory, so sse_deps::* can link to it from anywhere.
function(_sse_deps_make_global target)
  get_target_property(_aliased ${target} ALIASED_TARGET)
  if(_aliased)
    set(target ${_aliased})
  endif()
  get_target_property(_imported ${target} IMPORTED)
  if(_imported)
    get_target_property(_global ${target} IMPORTED_GLOBAL)
    if(NOT _global)
      set_target_properties(${target} PROPERTIES IMPORTED_GLOBAL TRUE)
    endif()
  endif()
endfunction()

# Builds llhttp's three C files as the static library sse_llhttp (alias sse_deps::llhttp).
# A macro, not a function: enable_language() must run at directory scope.
macro(_sse_deps_build_llhttp _sse_src_dir _sse_inc_dir)
  get_property(_sse_languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(NOT "C" IN_LIST _sse_languages)
    enable_language(C)
  endif()
  add_library(sse_llhttp STATIC
    "${_sse_src_dir}/api.c" "${_sse_src_dir}/http.c" "${_sse_src_dir}/llhttp.c")
  add_library(sse_deps::llhttp ALIAS sse_llhttp)
  set_target_properties(sse_llhttp PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    C_STANDARD 99
    C_EXTENSIONS OFF
    C_VISIBILITY_PRESET hidden)
  # Generated code: its warnings are not ours to fix.
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(sse_llhttp PRIVATE -w)
  elseif(MSVC)
    target_compile_options(sse_llhttp PRIVATE /w)
  endif()
  target_include_directories(sse_llhttp SYSTEM PUBLIC "${_sse_inc_dir}")
  unset(_sse_languages)
endmacro()

# ---------------------------------------------------------------------------------------- Asio
if(NOT TARGET sse_deps::asio)
  # No compile definitions for consumers: Asio defines ASIO_STANDALONE itself (C++11 and later,
  # without ASIO_ENABLE_BOOST), and ASIO_NO_DEPRECATED would break a consumer's older Asio code;
  # sse's own targets get it (sse_apply_build_options), so sse itself uses no deprecated Asio.
  add_library(sse_deps::asio INTERFACE IMPORTED GLOBAL)
  set(_sse_asio_how "")

  if(NOT SSE_FETCH_DEPS)
    find_package(asio 1.22 CONFIG QUIET)
    foreach(_sse_t IN ITEMS asio::asio asio::standalone asio)
      if(asio_FOUND AND TARGET ${_sse_t})
        _sse_deps_make_global(${_sse_t})
        set_property(TARGET sse_deps::asio APPEND PROPERTY INTERFACE_LINK_LIBRARIES ${_sse_t})
        set(_sse_asio_how "find_package(asio) target ${_sse_t} (${asio_DIR})")
        break()
      endif()
    endforeach()
  endif()

  if(NOT _sse_asio_how AND NOT SSE_FETCH_DEPS)
    find_path(SSE_ASIO_INCLUDE_DIR NAMES asio.hpp DOC "Directory holding standalone Asio's asio.hpp")
    if(SSE_ASIO_INCLUDE_DIR AND EXISTS "${SSE_ASIO_INCLUDE_DIR}/asio/version.hpp")
      file(STRINGS "${SSE_ASIO_INCLUDE_DIR}/asio/version.hpp" _sse_asio_line
           REGEX "^#define ASIO_VERSION [0-9]+")
      string(REGEX MATCH "[0-9]+" _sse_asio_num "${_sse_asio_line}")
      if(_sse_asio_num AND _sse_asio_num GREATER_EQUAL 102200)
        math(EXPR _sse_asio_major "${_sse_asio_num} / 100000")
        math(EXPR _sse_asio_minor "${_sse_asio_num} / 100 % 1000")
        math(EXPR _sse_asio_patch "${_sse_asio_num} % 100")
        set_property(TARGET sse_deps::asio APPEND PROPERTY
          INTERFACE_INCLUDE_DIRECTORIES "${SSE_ASIO_INCLUDE_DIR}")
        set(_sse_asio_how "system header ${SSE_ASIO_INCLUDE_DIR}/asio.hpp (Asio ${_sse_asio_major}.${_sse_asio_minor}.${_sse_asio_patch})")
      else()
        _sse_deps_status("Asio in ${SSE_ASIO_INCLUDE_DIR} is older than 1.22 (ASIO_VERSION ${_sse_asio_num}); fetching instead")
      endif()
    endif()
  endif()

  if(NOT _sse_asio_how)
    include(FetchContent)
    FetchContent_Declare(sse_asio URL "${SSE_ASIO_URL}" ${_sse_fetch_opts})
    # Asio's tarball has no CMakeLists.txt, so this only downloads and unpacks it.
    FetchContent_MakeAvailable(sse_asio)
    set_property(TARGET sse_deps::asio APPEND PROPERTY
      INTERFACE_INCLUDE_DIRECTORIES "${sse_asio_SOURCE_DIR}/asio/include")
    set(_sse_asio_how "FetchContent ${SSE_ASIO_URL}")
  endif()

  _sse_deps_status("Asio: ${_sse_asio_how}")
  set_property(GLOBAL PROPERTY SSE_ASIO_PROVIDER "${_sse_asio_how}")
  unset(_sse_asio_how)
  unset(_sse_asio_line)
  unset(_sse_asio_num)
  unset(_sse_t)
endif()

# -------------------------------------------------------------------------------------- llhttp
if(NOT TARGET sse_deps::llhttp)
  set(_sse_llhttp_how "")

  if(NOT SSE_FETCH_DEPS)
    find_package(llhttp CONFIG QUIET)
    foreach(_sse_t IN ITEMS llhttp::llhttp llhttp::llhttp_static llhttp::llhttp_shared)
      if(llhttp_FOUND AND TARGET ${_sse_t})
        _sse_deps_make_global(${_sse_t})
        add_library(sse_deps::llhttp INTERFACE IMPORTED GLOBAL)
        set_property(TARGET sse_deps::llhttp PROPERTY INTERFACE_LINK_LIBRARIES ${_sse_t})
        set(_sse_llhttp_how "find_package(llhttp) target ${_sse_t} (${llhttp_DIR})")
        break()
      endif()
    endforeach()
  endif()

  # An installed library without a CMake package (e.g. Debian 13's libllhttp-dev).
  if(NOT _sse_llhttp_how AND NOT SSE_FETCH_DEPS)
    find_path(SSE_LLHTTP_INCLUDE_DIR NAMES llhttp.h DOC "Directory of an installed llhttp.h")
    find_library(SSE_LLHTTP_LIBRARY NAMES llhttp DOC "An installed llhttp library")
    if(SSE_LLHTTP_INCLUDE_DIR AND SSE_LLHTTP_LIBRARY)
      add_library(sse_deps::llhttp UNKNOWN IMPORTED GLOBAL)
      set_target_properties(sse_deps::llhttp PROPERTIES
        IMPORTED_LOCATION "${SSE_LLHTTP_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${SSE_LLHTTP_INCLUDE_DIR}")
      set(_sse_llhttp_how "installed library ${SSE_LLHTTP_LIBRARY}")
    endif()
  endif()

  if(NOT _sse_llhttp_how AND NOT SSE_FETCH_DEPS
     AND EXISTS "${SSE_LLHTTP_SOURCE_DIR}/api.c"
     AND EXISTS "${SSE_LLHTTP_SOURCE_DIR}/http.c"
     AND EXISTS "${SSE_LLHTTP_SOURCE_DIR}/llhttp.c"
     AND EXISTS "${SSE_LLHTTP_SOURCE_INCLUDE_DIR}/llhttp.h")
    _sse_deps_build_llhttp("${SSE_LLHTTP_SOURCE_DIR}" "${SSE_LLHTTP_SOURCE_INCLUDE_DIR}")
    set(_sse_llhttp_how "static library sse_llhttp built from ${SSE_LLHTTP_SOURCE_DIR} (Debian node-llhttp)")
  endif()

  if(NOT _sse_llhttp_how)
    include(FetchContent)
    # SOURCE_SUBDIR points at a directory without a CMakeLists.txt so that only the sources are
    # unpacked; they are built as sse_llhttp exactly like Debian's copy.
    FetchContent_Declare(sse_llhttp_src URL "${SSE_LLHTTP_URL}" SOURCE_SUBDIR sse-no-cmake ${_sse_fetch_opts})
    FetchContent_MakeAvailable(sse_llhttp_src)
    _sse_deps_build_llhttp("${sse_llhttp_src_SOURCE_DIR}/src" "${sse_llhttp_src_SOURCE_DIR}/include")
    set(_sse_llhttp_how "static library sse_llhttp built from FetchContent ${SSE_LLHTTP_URL}")
  endif()

  _sse_deps_status("llhttp: ${_sse_llhttp_how}")
  set_property(GLOBAL PROPERTY SSE_LLHTTP_PROVIDER "${_sse_llhttp_how}")
  unset(_sse_llhttp_how)
  unset(_sse_t)
endif()

unset(_sse_fetch_opts)

# ------------------------------------------------------------------------------------- Threads
# Imported targets of find modules are directory-scoped, so this runs in every including directory.
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)

# ---------------------------------------------------------------------------- optional (later)
# Looks for OpenSSL (TLS, sse/ssl.hpp) and hiredis (sse/redis.hpp). Sets SSE_HAVE_OPENSSL and
# SSE_HAVE_HIREDIS (ON/OFF) in the caller's scope. Link OpenSSL::SSL OpenSSL::Crypto and
# sse_deps::hiredis yourself where needed; sse::sse never links them.
macro(sse_find_optional_dependencies)
  find_package(OpenSSL QUIET)
  if(OpenSSL_FOUND OR OPENSSL_FOUND)
    set(SSE_HAVE_OPENSSL ON)
  else()
    set(SSE_HAVE_OPENSSL OFF)
  endif()

  # CMAKE_DISABLE_FIND_PACKAGE_hiredis=ON: act as if hiredis were not installed (also for the
  # header/library look-up below), as CMake does for find_package.
  if(NOT TARGET sse_deps::hiredis AND NOT CMAKE_DISABLE_FIND_PACKAGE_hiredis)
    find_package(hiredis CONFIG QUIET)
    if(hiredis_FOUND AND TARGET hiredis::hiredis)
      _sse_deps_make_global(hiredis::hiredis)
      add_library(sse_deps::hiredis INTERFACE IMPORTED GLOBAL)
      set_property(TARGET sse_deps::hiredis PROPERTY INTERFACE_LINK_LIBRARIES hiredis::hiredis)
    else()
      find_path(SSE_HIREDIS_INCLUDE_DIR NAMES hiredis/hiredis.h DOC "Directory holding hiredis/hiredis.h")
      find_library(SSE_HIREDIS_LIBRARY NAMES hiredis DOC "The hiredis library")
      if(SSE_HIREDIS_INCLUDE_DIR AND SSE_HIREDIS_LIBRARY)
        add_library(sse_deps::hiredis UNKNOWN IMPORTED GLOBAL)
        set_target_properties(sse_deps::hiredis PROPERTIES
          IMPORTED_LOCATION "${SSE_HIREDIS_LIBRARY}"
          INTERFACE_INCLUDE_DIRECTORIES "${SSE_HIREDIS_INCLUDE_DIR}")
      endif()
    endif()
  endif()
  if(TARGET sse_deps::hiredis)
    set(SSE_HAVE_HIREDIS ON)
  else()
    set(SSE_HAVE_HIREDIS OFF)
  endif()
  _sse_deps_status("optional: OpenSSL ${SSE_HAVE_OPENSSL}, hiredis ${SSE_HAVE_HIREDIS}")
  # The components: sse::tls (sse/ssl.hpp: sse::sse + OpenSSL) and sse::redis (sse/redis.hpp:
  # sse::sse + hiredis), each only when its dependency was found.
  if(SSE_HAVE_OPENSSL AND NOT TARGET sse::tls)
    _sse_deps_make_global(OpenSSL::SSL)
    _sse_deps_make_global(OpenSSL::Crypto)
    add_library(sse::tls INTERFACE IMPORTED GLOBAL)
    set_property(TARGET sse::tls PROPERTY INTERFACE_LINK_LIBRARIES sse::sse OpenSSL::SSL OpenSSL::Crypto)
  endif()
  if(SSE_HAVE_HIREDIS AND NOT TARGET sse::redis)
    add_library(sse::redis INTERFACE IMPORTED GLOBAL)
    set_property(TARGET sse::redis PROPERTY INTERFACE_LINK_LIBRARIES sse::sse sse_deps::hiredis)
  endif()
endmacro()
