# Example 20 also compiles its DNS message codec (proto/, shared with the
# codec's unit test in tests/net).
target_sources(ex20_dns PRIVATE ${CMAKE_CURRENT_LIST_DIR}/proto/dns_msg.c)
target_include_directories(ex20_dns PRIVATE ${CMAKE_CURRENT_LIST_DIR}/proto)
