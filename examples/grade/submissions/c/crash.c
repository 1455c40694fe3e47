/* Crashes on inputs of more than two numbers: a store far outside linear memory, which
 * traps in wasm (RE, trap: out-of-bounds memory access) as a segfault would natively. */
#include <stdio.h>

int main(void) {
    long long x, sum = 0;
    int n = 0;
    while (scanf("%lld", &x) == 1) {
        sum += x;
        n++;
    }
    if (n > 2) {
        *(volatile int *)0xFFFFFFF0u = 1;
    }
    printf("%lld\n", sum);
    return 0;
}
