# Example 21 compiles its protocol code (proto/, shared with its unit test in
# tests/net) and links jansson (scripts/deps/net.txt says why jansson).
find_library(LOOM_EX21_JANSSON jansson REQUIRED)
target_sources(ex21_sort_service PRIVATE ${CMAKE_CURRENT_LIST_DIR}/proto/sort_proto.c)
target_include_directories(ex21_sort_service PRIVATE ${CMAKE_CURRENT_LIST_DIR}/proto)
target_link_libraries(ex21_sort_service PRIVATE ${LOOM_EX21_JANSSON})
