/* hello.c: smallest firmware: prints on the debug console, exits with 0. */
#include <stdio.h>

int main(void) {
  printf("hello from the PNM controller (rv32imac)\n");
  return 0;
}
