# Link-time optimisation for optimised builds.  loom's hot paths cross
# translation units (a queue get goes queue.c -> waiter.c -> park.c ->
# loop.c), so only the linker sees them whole: with LTO those calls inline
# (W1b ping-pong about 20% faster).  Included by the top CMakeLists.txt
# before any target exists, because CMAKE_INTERPROCEDURAL_OPTIMIZATION
# initialises each target's INTERPROCEDURAL_OPTIMIZATION property.
#
# - On for Release, RelWithDebInfo and MinSizeRel, when the compiler
#   supports it (check_ipo_supported), unless -DLOOM_LTO=OFF.  Never for
#   Debug or sanitizer builds (make test, make test-tsan): there it would
#   only slow the build down.
# - The library objects are FAT LTO objects (-ffat-lto-objects): each holds
#   both GCC's intermediate code and ordinary machine code.  loom's own
#   tests, examples and benchmarks link the build tree's libloom.a with LTO
#   and get the cross-module inlining; libloom.so gets it at its own link.
#   The price is compiling each library file twice over (to IR and to code).
# - `make install` strips the intermediate code from the installed
#   libloom.a (as Fedora and Debian do for packaged static libraries): gcc's
#   linker plugin would otherwise run LTO on those objects even without
#   -flto, and a gcc of another release refuses the bytecode (its format
#   changes with each GCC release: a fatal "LTO version" error).  What is installed is plain machine code,
#   usable by any compiler and linker (gcc of any version, clang, lld, gold).
# - Benchmark peers (programs that do not use loom) are left as their users
#   would build them: they turn LTO off in bench/CMakeLists.txt.
#
# Single-configuration generators only (Makefiles, Ninja): with a
# multi-config generator CMAKE_BUILD_TYPE is empty and LTO stays off.
#
# Sets LOOM_LTO_ACTIVE (ON/OFF) for the rest of the build.
option(LOOM_LTO "Link-time optimisation in optimised builds (Release, RelWithDebInfo, MinSizeRel)" ON)

set(LOOM_LTO_ACTIVE OFF)
if(LOOM_LTO AND NOT CMAKE_C_COMPILER_ID STREQUAL "GNU")
  # Fat objects are GCC's; clang's LTO archive would hold only bitcode.
  message(STATUS "loom: link-time optimisation is set up for GCC only, building without it")
elseif(LOOM_LTO AND NOT LOOM_SANITIZE AND CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo|MinSizeRel)$")
  include(CheckIPOSupported)
  check_ipo_supported(RESULT _loom_ipo_ok OUTPUT _loom_ipo_why LANGUAGES C)
  if(_loom_ipo_ok)
    set(LOOM_LTO_ACTIVE ON)
    set(CMAKE_INTERPROCEDURAL_OPTIMIZATION ON)
    # With LTO the optimiser's warnings come at the link: -Werror there too.
    if(LOOM_WERROR)
      add_link_options(-Werror)
    endif()
  else()
    message(STATUS "loom: link-time optimisation not supported, building without it: ${_loom_ipo_why}")
  endif()
endif()
message(STATUS "loom: link-time optimisation ${LOOM_LTO_ACTIVE}")

# The library objects: fat, for the static archive (see above).
function(loom_lto_fat_objects target)
  if(LOOM_LTO_ACTIVE)
    target_compile_options(${target} PRIVATE -ffat-lto-objects)
  endif()
endfunction()

# After install(TARGETS): the installed static library loses its LTO
# sections (see the top).  objcopy rewrites each member and the index.
function(loom_lto_install_plain_archive target)
  if(NOT LOOM_LTO_ACTIVE)
    return()
  endif()
  if(NOT CMAKE_OBJCOPY)
    message(FATAL_ERROR "loom: LTO needs objcopy to install a plain libloom.a (or -DLOOM_LTO=OFF)")
  endif()
  install(CODE "
    set(_a \"${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:${target}>\")
    if(NOT IS_ABSOLUTE \"\${_a}\")
      set(_a \"\${CMAKE_INSTALL_PREFIX}/\${_a}\")
    endif()
    set(_a \"\$ENV{DESTDIR}\${_a}\")
    execute_process(COMMAND \"${CMAKE_OBJCOPY}\" --wildcard -R .gnu.lto_* -R .gnu.debuglto_* \"\${_a}\"
                    RESULT_VARIABLE _rc)
    if(_rc)
      message(FATAL_ERROR \"loom: removing the LTO sections from \${_a} failed: \${_rc}\")
    endif()")
endfunction()
