# The coroutine engine: task dumps and stall reports walk suspended stacks by
# their frame pointers, so the library keeps them even in optimised builds
# (about 1% in call-heavy code).  No extra link libraries are needed: dladdr
# is in glibc's libc since 2.34.
target_compile_options(loom_objects PRIVATE -fno-omit-frame-pointer)
