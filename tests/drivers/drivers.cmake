# Builds the real test drivers (tests/drivers/ntdrv_*.c) into PE32+ .sys
# images with mingw-w64: x86_64-w64-mingw32-gcc against its DDK headers,
# linked against its import libraries libntoskrnl.a and libhal.a, exactly as
# a driver writer outside this project would. Included by tests/drivers (host
# presets) and by arch/x86_64 (the QEMU image gets them as boot modules).
#
# Link: a native-subsystem executable (no IMAGE_FILE_DLL, like link /DRIVER),
# entry DriverEntry, no C runtime start files or libraries (-nostdlib), the
# usual driver base 0x140000000 with DYNAMIC_BASE so the loader relocates it,
# 512-byte file / 4 KB section alignment. Compile: no stack probes
# (___chkstk_ms is a CRT routine), no stack protector (no __security_cookie
# import), no .pdata/.xdata beyond what gcc needs (except ntdrv_seh, below).
#
# Sets NTOS_TEST_DRIVERS (the .sys paths) and NTOS_TEST_DRIVERS_TARGET in the
# caller's scope, or NTOS_TEST_DRIVERS_MISSING with the reason.
function(ntos_build_test_drivers)
  find_program(NTOS_MINGW_CC x86_64-w64-mingw32-gcc)
  if(NTOS_MINGW_CC)
    get_filename_component(_mingw_bin ${NTOS_MINGW_CC} DIRECTORY)
    find_path(NTOS_MINGW_DDK_DIR ntddk.h
              HINTS ${_mingw_bin}/../x86_64-w64-mingw32/include/ddk
              PATHS /usr/x86_64-w64-mingw32/include/ddk /usr/share/mingw-w64/include/ddk
              NO_DEFAULT_PATH)
  endif()
  if(NOT NTOS_MINGW_CC OR NOT NTOS_MINGW_DDK_DIR)
    set(NTOS_TEST_DRIVERS_MISSING "x86_64-w64-mingw32-gcc or mingw-w64's DDK headers not found: install mingw-w64 and mingw-w64-x86-64-dev (tools/ntos setup)" PARENT_SCOPE)
    return()
  endif()
  # The DDK directory itself is on the include path: mingw-w64's ntddk.h includes <wdm.h>.
  get_filename_component(_mingw_inc ${NTOS_MINGW_DDK_DIR} DIRECTORY)
  set(_src ${CMAKE_SOURCE_DIR}/tests/drivers)
  set(_out ${CMAKE_BINARY_DIR}/drivers)
  # --param=min-pagesize=0: gcc 12 otherwise warns (-Warray-bounds) on the fixed-address
  # reads the DDK inlines compile to (__readgsqword, KUSER_SHARED_DATA).
  set(_cflags -std=gnu11 -O2 -g0 -Wall -Wextra -Werror --param=min-pagesize=0 -fno-stack-protector -mno-stack-arg-probe
      -fno-asynchronous-unwind-tables -I${NTOS_MINGW_DDK_DIR} -I${_mingw_inc} -I${_src})
  set(_ldflags -s -nostdlib -nostartfiles -Wl,--subsystem,native -Wl,--entry,DriverEntry
      -Wl,--image-base,0x140000000 -Wl,--dynamicbase -Wl,--nxcompat -Wl,--file-alignment,0x200
      -Wl,--section-alignment,0x1000)
  set(_all)
  # ntdrv_seh needs unwind data for every function (the kernel unwinds through
  # them to its __try1 scopes) and each function in one .text piece (mingw-w64's
  # __try1 switches back to .text after its .xdata): the later flags win.
  set(_cflags_ntdrv_seh -fasynchronous-unwind-tables -fno-reorder-blocks-and-partition)
  foreach(_name ntdrv_echo ntdrv_timer ntdrv_filter ntdrv_missing ntdrv_observer ntdrv_seh)
    add_custom_command(
      OUTPUT ${_out}/${_name}.sys
      COMMAND ${CMAKE_COMMAND} -E make_directory ${_out}
      COMMAND ${NTOS_MINGW_CC} ${_cflags} ${_cflags_${_name}} -c ${_src}/${_name}.c -o ${_out}/${_name}.o
      COMMAND ${NTOS_MINGW_CC} ${_ldflags} -o ${_out}/${_name}.sys ${_out}/${_name}.o -lntoskrnl -lhal -lgcc
      DEPENDS ${_src}/${_name}.c ${_src}/drvtest.h
      COMMENT "mingw-w64: ${_name}.sys"
      VERBATIM)
    list(APPEND _all ${_out}/${_name}.sys)
  endforeach()
  add_custom_target(ntos_test_drivers ALL DEPENDS ${_all})
  set(NTOS_TEST_DRIVERS ${_all} PARENT_SCOPE)
  set(NTOS_TEST_DRIVERS_TARGET ntos_test_drivers PARENT_SCOPE)
endfunction()
