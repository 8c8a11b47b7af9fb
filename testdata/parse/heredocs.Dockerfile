# syntax=docker/dockerfile:1
FROM busybox
RUN <<EOF
echo plain
EOF
RUN <<-EOT
	echo chomped
	EOT
RUN <<'EOF' bash
echo "$HOME is not expanded"
EOF
RUN cat <<A > /a; cat <<"B" > /b
first $x
A
second $x
B
RUN <<EOF 3<<IN1 awk -f -
{ print }
EOF
fd three
IN1
COPY <<conf.txt /etc/conf.txt
key=value
conf.txt
ONBUILD RUN <<EOF
echo on build
EOF
RUN ["echo", "<<NOT_A_HEREDOC"]
