# examples/common: modules several examples share (not part of libloom):
#   http_server  a routed HTTP/1.1 server on loom streams, parsing with
#                Debian's http-parser (scripts/deps/http.txt says why);
#   curl_loop    libcurl's multi interface driven by a loom loop.
# Each is a small static library an example links when it needs it.  Without
# the packages (installed by `make test` and `make demo`) the libraries, and
# the examples that need them, are left out rather than failing configure.
find_library(LOOM_HTTP_PARSER_LIB http_parser)
find_library(LOOM_CURL_LIB curl)
find_path(LOOM_CURL_INCLUDE curl/curl.h)
if(LOOM_HTTP_PARSER_LIB)
  add_library(loom_ex_http STATIC ${CMAKE_CURRENT_LIST_DIR}/http_server.c
              ${CMAKE_CURRENT_LIST_DIR}/http_message.c)
  target_include_directories(loom_ex_http PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_compile_definitions(loom_ex_http PRIVATE _GNU_SOURCE)
  target_link_libraries(loom_ex_http PUBLIC loom_static ${LOOM_HTTP_PARSER_LIB})
else()
  message(STATUS "examples/common: http-parser not found (libhttp-parser-dev): no http_server")
endif()
if(LOOM_CURL_LIB AND LOOM_CURL_INCLUDE)
  add_library(loom_ex_curl STATIC ${CMAKE_CURRENT_LIST_DIR}/curl_loop.c)
  target_include_directories(loom_ex_curl PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_compile_definitions(loom_ex_curl PRIVATE _GNU_SOURCE)
  target_link_libraries(loom_ex_curl PUBLIC loom_static ${LOOM_CURL_LIB})
else()
  message(STATUS "examples/common: libcurl not found (libcurl4-openssl-dev): no curl_loop")
endif()
