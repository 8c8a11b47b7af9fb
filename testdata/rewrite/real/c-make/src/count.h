#ifndef COUNT_H
#define COUNT_H

#include <stdio.h>

struct counts {
	unsigned long lines;
	unsigned long words;
	unsigned long bytes;
};

void count_stream(FILE *in, struct counts *out);

#endif
