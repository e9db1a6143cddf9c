# examples/common: modules several examples share (not part of libloom):
#   http_server  a routed HTTP/1.1 server on loom streams, parsing with
#                Debian's http-parser (scripts/deps/http.txt says why);
#   curl_loop    libcurl's multi interface driven by a loom loop.
# Each is a small static library an example links when it needs it.
find_library(LOOM_HTTP_PARSER_LIB http_parser REQUIRED)
find_library(LOOM_CURL_LIB curl REQUIRED)
add_library(loom_ex_http STATIC ${CMAKE_CURRENT_LIST_DIR}/http_server.c
            ${CMAKE_CURRENT_LIST_DIR}/http_message.c)
target_include_directories(loom_ex_http PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(loom_ex_http PRIVATE _GNU_SOURCE)
target_link_libraries(loom_ex_http PUBLIC loom_static ${LOOM_HTTP_PARSER_LIB})
add_library(loom_ex_curl STATIC ${CMAKE_CURRENT_LIST_DIR}/curl_loop.c)
target_include_directories(loom_ex_curl PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(loom_ex_curl PRIVATE _GNU_SOURCE)
target_link_libraries(loom_ex_curl PUBLIC loom_static ${LOOM_CURL_LIB})
