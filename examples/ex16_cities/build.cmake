# Example 16's ten cities: the endpoint (common/http_server), the clients
# (libcurl easy handles, common/curl_loop), JSON with jansson (see
# scripts/deps/net.txt and scripts/deps/http.txt).
find_library(LOOM_EX16_JANSSON jansson REQUIRED)
target_link_libraries(ex16_cities PRIVATE loom_ex_http loom_ex_curl ${LOOM_EX16_JANSSON})
