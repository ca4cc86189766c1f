# cmake -DINPUT=page.html -DOUTPUT=page.hpp -DNAME=demo_page -P embed_page.cmake
# Writes a header that holds INPUT as `inline constexpr std::string_view NAME`: the demo page is
# a plain file under examples/ (edit it, rebuild), compiled into the server (nothing to find at
# run time, nothing to install).
file(READ "${INPUT}" _content)
string(FIND "${_content}" ")sse_embedded\"" _clash)
if(NOT _clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} holds the raw string's delimiter )sse_embedded\"")
endif()
set(_text "// Generated from ${INPUT} by examples/embed_page.cmake: do not edit.\n#pragma once\n#include <string_view>\ninline constexpr std::string_view ${NAME} = R\"sse_embedded(${_content})sse_embedded\";\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" _old)
  if(_old STREQUAL _text)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${_text}")
