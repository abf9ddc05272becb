# Builds tests/seh/pe/sehdrv.c into a PE32+ DLL at configure time (clang for
# x86_64-pc-windows-msvc, lld-link, an import library for ntoskrnl.exe made by
# llvm-dlltool from ntoskrnl.def) and writes its bytes as a C array to
# ${CMAKE_BINARY_DIR}/generated/seh_pe_image.h, which tests/seh/test_seh_pe.c
# includes on both backends. Re-run when the sources change.
set(SEH_PE_DIR ${CMAKE_CURRENT_LIST_DIR})
set(SEH_PE_OUT ${CMAKE_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${SEH_PE_OUT})
find_program(SEH_LLD_LINK NAMES lld-link REQUIRED)
find_program(SEH_DLLTOOL NAMES llvm-dlltool REQUIRED)
execute_process(COMMAND ${SEH_DLLTOOL} -m i386:x86-64 -d ${SEH_PE_DIR}/ntoskrnl.def -l ${SEH_PE_OUT}/seh_ntoskrnl.lib
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_C_COMPILER} --target=x86_64-pc-windows-msvc -fms-extensions -O1 -fno-stack-protector
                        -mgeneral-regs-only -Wall -Werror -c ${SEH_PE_DIR}/sehdrv.c -o ${SEH_PE_OUT}/sehdrv.obj
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${SEH_LLD_LINK} /dll /noentry /nodefaultlib /out:${SEH_PE_OUT}/sehdrv.sys
                        ${SEH_PE_OUT}/sehdrv.obj ${SEH_PE_OUT}/seh_ntoskrnl.lib
                COMMAND_ERROR_IS_FATAL ANY)
file(READ ${SEH_PE_OUT}/sehdrv.sys seh_hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," seh_bytes "${seh_hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" seh_bytes "${seh_bytes}")
file(WRITE ${SEH_PE_OUT}/seh_pe_image.h.tmp
     "/* Generated from tests/seh/pe/sehdrv.c by tests/seh/pe/build.cmake; do not edit. */\n"
     "static const unsigned char SehPeImage[] __attribute__((aligned(16))) = {\n${seh_bytes}};\n")
file(COPY_FILE ${SEH_PE_OUT}/seh_pe_image.h.tmp ${SEH_PE_OUT}/seh_pe_image.h ONLY_IF_DIFFERENT)
set_property(DIRECTORY ${CMAKE_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${SEH_PE_DIR}/sehdrv.c ${SEH_PE_DIR}/ntoskrnl.def ${SEH_PE_DIR}/build.cmake)
