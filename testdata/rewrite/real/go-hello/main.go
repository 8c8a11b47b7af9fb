// greeter prints a greeting, or its version with --version.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

var version = "1.2.0"

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	name := flag.String("name", "world", "who to greet")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	greeting := fmt.Sprintf("Hello, %s!", strings.TrimSpace(*name))
	if _, err := fmt.Fprintln(os.Stdout, greeting); err != nil {
		os.Exit(1)
	}
}
