// Command devpush-validate checks the repository's Compose files and Dockerfiles
// with the parsers Docker itself uses, without a Docker CLI plugin or a registry:
//
//	devpush-validate compose [--env-file F]... [--no-env-resolution] -f FILE [-f FILE]...
//	    loads the files as `docker compose config` does (compose-go: schema
//	    validation, interpolation, merging of overrides, normalisation) and
//	    prints the resulting model as JSON;
//	devpush-validate dockerfile FILE...
//	    parses each Dockerfile with BuildKit's frontend and runs the checks of
//	    `docker build --check`; any warning fails.
//
// It is built by scripts/dev/go-tool.sh compose-validator and used by the tests under
// tests/compose/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	digest "github.com/opencontainers/go-digest"
)

// offlineResolver answers BuildKit's base-image lookups with an empty linux/amd64
// config: no registry is contacted, and the checks that need the real config (none
// of the syntax or style rules) see an image without ENV or USER.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(
	_ context.Context, ref string, _ sourceresolver.Opt,
) (string, digest.Digest, []byte, error) {
	return ref, "", []byte(`{"architecture":"amd64","os":"linux","config":{}}`), nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "compose":
		err = composeCmd(os.Args[2:])
	case "dockerfile":
		err = dockerfileCmd(os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: devpush-validate compose [--env-file F]... [--no-env-resolution] -f FILE...")
	fmt.Fprintln(os.Stderr, "       devpush-validate dockerfile FILE...")
}

func composeCmd(args []string) error {
	fs := flag.NewFlagSet("compose", flag.ContinueOnError)
	var files, envFiles listFlag
	fs.Var(&files, "f", "Compose file (repeatable, later files override earlier ones)")
	fs.Var(&envFiles, "env-file", "interpolation env file (repeatable), as `docker compose --env-file`")
	projectDir := fs.String("project-directory", "", "project directory (default: the first file's directory)")
	noEnv := fs.Bool("no-env-resolution", false, "keep env_file entries instead of reading them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("compose: at least one -f FILE is required")
	}
	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(*projectDir),
		cli.WithOsEnv,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
	}
	if *noEnv {
		opts = append(opts, cli.WithoutEnvironmentResolution)
	}
	po, err := cli.NewProjectOptions(files, opts...)
	if err != nil {
		return err
	}
	project, err := po.LoadProject(context.Background())
	if err != nil {
		return err
	}
	out, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}

// sourceMap names the file in BuildKit's results; its empty LLB definition is what
// `docker build --check` sends for a Dockerfile read from the local context.
func sourceMap(path string, dt []byte) *llb.SourceMap {
	sm := llb.NewSourceMap(nil, path, "Dockerfile", dt)
	sm.Definition = &llb.Definition{}
	return sm
}

func dockerfileCmd(paths []string) error {
	if len(paths) == 0 {
		return errors.New("dockerfile: at least one FILE is required")
	}
	failed := false
	for _, path := range paths {
		ok := true
		dt, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// Syntax first: a parse error is reported with its line.
		if _, err := parser.Parse(strings.NewReader(string(dt))); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed, ok = true, false
			continue
		}
		res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
			SourceMap:    sourceMap(path, dt),
			MetaResolver: offlineResolver{},
		})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if res.Error != nil {
			fmt.Fprintf(os.Stderr, "%s: %s\n", path, res.Error.Message)
			failed, ok = true, false
		}
		for _, w := range res.Warnings {
			line := 0
			if w.Location != nil && len(w.Location.Ranges) > 0 {
				line = int(w.Location.Ranges[0].Start.Line)
			}
			fmt.Fprintf(os.Stderr, "%s:%d: %s: %s\n", path, line, w.RuleName, w.Detail)
			failed, ok = true, false
		}
		if ok {
			fmt.Printf("%s: ok\n", path)
		}
	}
	if failed {
		return errors.New("dockerfile check failed")
	}
	return nil
}
