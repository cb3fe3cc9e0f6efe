package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// podman runs the podman CLI (ci/podman, which knows this machine's runtime and storage).
type podman struct{ bin string }

// run runs podman and returns its stdout; a failure carries its stderr.
func (p podman) run(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("podman %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// output runs podman and returns stdout and stderr together, as `podman logs` needs.
func (p podman) output(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, p.bin, args...).CombinedOutput()
	return string(out), err
}

// hostPort is the loopback port podman published a container port on.
func (p podman) hostPort(ctx context.Context, name string, port int) (int, error) {
	out, err := p.run(ctx, "port", name, fmt.Sprintf("%d/tcp", port))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndex(out, ":")
	n, err := strconv.Atoi(strings.TrimSpace(out[i+1:]))
	if i < 0 || err != nil {
		return 0, fmt.Errorf("podman port %s %d: %q", name, port, out)
	}
	return n, nil
}
