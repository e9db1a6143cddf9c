# The net tests also test the codecs of examples 20 (DNS messages) and 21
# (the sort service's framing and JSON), which live with their examples
# because the library itself needs neither (in proto/ subfolders, which the
# examples build does not turn into programs of their own).
# Built here as a small static library so the tests work whether or not
# examples are built.
find_library(LOOM_JANSSON_LIB jansson REQUIRED)
add_library(loom_net_example_codecs STATIC
  ${CMAKE_SOURCE_DIR}/examples/ex20_dns/proto/dns_msg.c
  ${CMAKE_SOURCE_DIR}/examples/ex21_sort_service/proto/sort_proto.c)
target_include_directories(loom_net_example_codecs PUBLIC
  ${CMAKE_SOURCE_DIR}/examples/ex20_dns/proto
  ${CMAKE_SOURCE_DIR}/examples/ex21_sort_service/proto)
target_compile_definitions(loom_net_example_codecs PRIVATE _GNU_SOURCE)
target_link_libraries(loom_net_example_codecs PUBLIC ${LOOM_JANSSON_LIB})
set(LOOM_TEST_LIBS_net loom_net_example_codecs)
