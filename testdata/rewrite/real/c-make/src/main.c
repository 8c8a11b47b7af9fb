#include <stdio.h>
#include <string.h>

#include "count.h"

int main(int argc, char **argv)
{
	struct counts total = {0, 0, 0};

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("wordcount 0.3: count lines, words and bytes of standard input\n");
		return 0;
	}
	count_stream(stdin, &total);
	printf("%lu %lu %lu\n", total.lines, total.words, total.bytes);
	return 0;
}
