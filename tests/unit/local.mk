## Unit tests: one program per feature, each linked against libginsfsm.
## Every area's fragment adds its own programs to check_PROGRAMS, TESTS and
## UNIT_TESTS with += .
EXTRA_DIST += tests/unit/testlib.h
