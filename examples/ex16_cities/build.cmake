# Example 16's ten cities: the endpoint (common/http_server), the clients
# (libcurl easy handles, common/curl_loop), JSON with jansson (see
# scripts/deps/net.txt and scripts/deps/http.txt).  Left out of the default
# build when a package is missing (`make test` / `make demo` install them).
find_library(LOOM_EX16_JANSSON jansson)
if(TARGET loom_ex_http AND TARGET loom_ex_curl AND LOOM_EX16_JANSSON)
  target_link_libraries(ex16_cities PRIVATE loom_ex_http loom_ex_curl ${LOOM_EX16_JANSSON})
else()
  message(STATUS "ex16_cities: http-parser, libcurl or jansson missing, not built by default")
  set_target_properties(ex16_cities PROPERTIES EXCLUDE_FROM_ALL ON)
endif()
