#include "registry.h"
const test_group raft = { "raft", NULL, 0 };
