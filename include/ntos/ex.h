/*
 * Executive support: pools, executive locks, interlocked lists, work items.
 * Each group of declarations lives in its own header included from here.
 */
#ifndef NTOS_EX_H
#define NTOS_EX_H

#include <ntos/ke.h>
#include <ntos/ex_sync.h>
#include <ntos/ex_lists.h>
#include <ntos/ex_pool.h>

#endif /* NTOS_EX_H */
