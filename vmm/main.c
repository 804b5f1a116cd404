#include <stdio.h>
int main(void) { puts("vmm"); return 0; }
