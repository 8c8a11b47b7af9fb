#include <ctype.h>

#include "count.h"

void count_stream(FILE *in, struct counts *out)
{
	int c;
	int in_word = 0;

	while ((c = getc(in)) != EOF) {
		out->bytes++;
		if (c == '\n')
			out->lines++;
		if (isspace(c)) {
			in_word = 0;
		} else if (!in_word) {
			in_word = 1;
			out->words++;
		}
	}
}
