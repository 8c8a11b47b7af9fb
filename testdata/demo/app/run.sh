#!/bin/sh
echo "hello from the imgopt demo"
