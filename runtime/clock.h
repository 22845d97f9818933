/* clock.h - the one monotonic clock every duration is measured with. */
#ifndef CODERUNNER_CLOCK_H
#define CODERUNNER_CLOCK_H

/* Milliseconds on CLOCK_MONOTONIC: immune to wall-clock changes. */
double monotonic_ms(void);

#endif
