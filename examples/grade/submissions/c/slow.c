/* Never finishes: TLE. */
#include <stdio.h>

int main(void) {
    volatile unsigned long long spins = 0;
    for (;;) {
        spins++;
    }
}
