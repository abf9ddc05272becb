#include "ntos_test.h"

KBUGCHECK_DATA ntos_last_bugcheck;
