# The http tests exercise the examples' shared modules (examples/common:
# http_server with Debian's http-parser, curl_loop with libcurl), built here
# as their own static library so the tests work whether or not examples are
# built (TSan builds skip examples).  scripts/deps/http.txt says why each
# package.
find_library(LOOM_T_HTTP_PARSER http_parser REQUIRED)
find_library(LOOM_T_CURL curl REQUIRED)
add_library(loom_test_http_common STATIC
  ${CMAKE_SOURCE_DIR}/examples/common/http_server.c
  ${CMAKE_SOURCE_DIR}/examples/common/http_message.c
  ${CMAKE_SOURCE_DIR}/examples/common/curl_loop.c)
target_include_directories(loom_test_http_common PUBLIC ${CMAKE_SOURCE_DIR}/examples/common)
target_compile_definitions(loom_test_http_common PRIVATE _GNU_SOURCE)
target_link_libraries(loom_test_http_common PUBLIC loom_static ${LOOM_T_HTTP_PARSER} ${LOOM_T_CURL})
set(LOOM_TEST_LIBS_http loom_test_http_common)
