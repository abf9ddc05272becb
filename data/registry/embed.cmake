# Turns a .reg file into a C source defining CmpDefaultRegistryText (the
# bytes, NUL-terminated) and CmpDefaultRegistryTextLength (without the NUL).
# Usage: cmake -DIN=<file.reg> -DOUT=<file.c> -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* Generated from ${IN} by data/registry/embed.cmake; do not edit. */\n#include <ntos/ntdef.h>\nconst char CmpDefaultRegistryText[] = {\n${bytes}0};\nconst SIZE_T CmpDefaultRegistryTextLength = ${len};\n")
