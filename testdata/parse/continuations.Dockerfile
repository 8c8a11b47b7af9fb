FROM debian
# a comment before
RUN apt-get update \
# a comment inside the continuation is dropped
    && apt-get install -y curl \

    && rm -rf /var/lib/apt/lists/*
   # indented comment between instructions
RUN echo one\
two \
	# tab-indented comment inside
three
ENV A=trailing\\
ENV B=next
RUN \
    echo "continuation line on its own"
