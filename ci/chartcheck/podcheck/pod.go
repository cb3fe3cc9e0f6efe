package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// workload is one pod template of the rendered release.
type workload struct {
	kind string // "ksvc" (a Knative Service's revision template) or "deployment"
	name string // the Knative Service's or Deployment's name
	spec corev1.PodSpec
}

// probe is an HTTP probe of a container, by the container port it asks.
type probe struct {
	kind string // readiness or liveness
	path string
	port int
}

// container is a workload as podman runs it.
type container struct {
	name   string
	image  string
	args   []string // podman run flags, then the image and its arguments
	probes []probe
	ports  []int // container ports, each published on a loopback port
	// metricsPort is the port the role serves /metrics on apart from its own
	// (BARRAGE_METRICS_PORT), published too since a scraper reaches it on the pod's
	// address; 0 when /metrics is on the container port.
	metricsPort int
}

// secrets are the Secrets of the namespace, by name and key.
type secrets map[string]map[string]string

// podContext is what resolving a pod needs besides its spec.
type podContext struct {
	name      string // the container's name on the network, which is also the pod's name
	namespace string
	network   string
	dir       string              // where env files and Secret volumes are written
	secrets   secrets             // resolves secretKeyRef, envFrom and Secret volumes
	extraEnv  map[string]string   // what the cluster adds (cluster.go)
	rewrite   func(string) string // a plain value as the cluster's routing resolves it
}

// podContainer turns a pod spec into the podman flags that run it as the kubelet would:
// the env with Secrets and the downward API resolved, the args, ports, user, read-only
// root and the pod's volumes. Anything it cannot reproduce is an error, never skipped.
func podContainer(w workload, pc podContext) (container, error) {
	spec := w.spec
	if len(spec.Containers) != 1 || len(spec.InitContainers) > 0 {
		return container{}, fmt.Errorf("%s %s: %d containers and %d init containers; the check runs pods of one container", w.kind, w.name, len(spec.Containers), len(spec.InitContainers))
	}
	c := spec.Containers[0]
	out := container{name: pc.name, image: c.Image}
	args := []string{"-d", "--name", pc.name, "--hostname", pc.name, "--network", pc.network}

	env, err := podEnv(c, pc)
	if err != nil {
		return container{}, fmt.Errorf("%s %s: %w", w.kind, w.name, err)
	}
	envFile := filepath.Join(pc.dir, pc.name+".env")
	if err := writeEnvFile(envFile, env); err != nil {
		return container{}, err
	}
	// An env file keeps Secret values off podman's command line.
	args = append(args, "--env-file", envFile)

	for _, p := range c.Ports {
		out.ports = append(out.ports, int(p.ContainerPort))
	}
	if v, ok := env["BARRAGE_METRICS_PORT"]; ok && v != "0" {
		if out.metricsPort, err = strconv.Atoi(v); err != nil {
			return container{}, fmt.Errorf("%s %s: BARRAGE_METRICS_PORT=%q: %w", w.kind, w.name, v, err)
		}
		out.ports = append(out.ports, out.metricsPort)
	}
	for _, p := range out.ports {
		args = append(args, "-p", fmt.Sprintf("127.0.0.1::%d", p))
	}
	sec, err := securityFlags(spec.SecurityContext, c.SecurityContext)
	if err != nil {
		return container{}, fmt.Errorf("%s %s: %w", w.kind, w.name, err)
	}
	args = append(args, sec...)
	vols, err := volumeFlags(spec.Volumes, c.VolumeMounts, pc)
	if err != nil {
		return container{}, fmt.Errorf("%s %s: %w", w.kind, w.name, err)
	}
	args = append(args, vols...)
	if len(c.Command) > 0 {
		cmd, _ := json.Marshal(c.Command)
		args = append(args, "--entrypoint", string(cmd))
	}
	args = append(args, c.Image)
	args = append(args, c.Args...)
	out.args = args

	for _, p := range []struct {
		kind string
		pr   *corev1.Probe
	}{{"readiness", c.ReadinessProbe}, {"liveness", c.LivenessProbe}} {
		if p.pr == nil {
			continue
		}
		if p.pr.HTTPGet == nil {
			return container{}, fmt.Errorf("%s %s: %s probe is not httpGet", w.kind, w.name, p.kind)
		}
		port, err := probePort(c, p.pr.HTTPGet, w.kind == "ksvc")
		if err != nil {
			return container{}, fmt.Errorf("%s %s: %s probe: %w", w.kind, w.name, p.kind, err)
		}
		out.probes = append(out.probes, probe{kind: p.kind, path: p.pr.HTTPGet.Path, port: port})
	}
	return out, nil
}

// podEnv resolves env and envFrom as the kubelet does, then adds what the cluster adds.
func podEnv(c corev1.Container, pc podContext) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			return nil, fmt.Errorf("envFrom %+v: only secretRef is supported", from)
		}
		s, ok := pc.secrets[from.SecretRef.Name]
		if !ok {
			return nil, fmt.Errorf("envFrom: no Secret %q", from.SecretRef.Name)
		}
		for k, v := range s {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			// The kubelet expands $(VAR); no value here uses it, and one that did would differ.
			if strings.Contains(e.Value, "$(") {
				return nil, fmt.Errorf("env %s: $(...) expansion is not reproduced", e.Name)
			}
			env[e.Name] = e.Value
			if pc.rewrite != nil {
				env[e.Name] = pc.rewrite(e.Value)
			}
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := pc.secrets[ref.Name][ref.Key]
			if !ok {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				return nil, fmt.Errorf("env %s: Secret %q has no key %q", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = v
		case e.ValueFrom.FieldRef != nil:
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				env[e.Name] = pc.name
			case "metadata.namespace":
				env[e.Name] = pc.namespace
			default:
				return nil, fmt.Errorf("env %s: fieldRef %s is not reproduced", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
		default:
			return nil, fmt.Errorf("env %s: valueFrom %+v is not reproduced", e.Name, e.ValueFrom)
		}
	}
	for k, v := range pc.extraEnv {
		env[k] = v
	}
	return env, nil
}

func writeEnvFile(path string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if strings.ContainsAny(env[k], "\n\r") {
			return fmt.Errorf("env %s: a value with a line break does not fit an env file", k)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// securityFlags maps the pod's and container's securityContext (the container's wins).
func securityFlags(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) ([]string, error) {
	var uid, gid *int64
	var nonRoot *bool
	if pod != nil {
		uid, gid, nonRoot = pod.RunAsUser, pod.RunAsGroup, pod.RunAsNonRoot
		if pod.SeccompProfile != nil && pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			return nil, fmt.Errorf("seccomp profile %s is not reproduced", pod.SeccompProfile.Type)
		}
	}
	var flags []string
	if c != nil {
		if c.RunAsUser != nil {
			uid = c.RunAsUser
		}
		if c.RunAsGroup != nil {
			gid = c.RunAsGroup
		}
		if c.RunAsNonRoot != nil {
			nonRoot = c.RunAsNonRoot
		}
		if c.ReadOnlyRootFilesystem != nil && *c.ReadOnlyRootFilesystem {
			// Without --read-only-tmpfs=false podman would add writable /tmp and /run.
			flags = append(flags, "--read-only", "--read-only-tmpfs=false")
		}
		if c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation {
			flags = append(flags, "--security-opt", "no-new-privileges")
		}
		if c.Capabilities != nil {
			for _, cp := range c.Capabilities.Drop {
				flags = append(flags, "--cap-drop", string(cp))
			}
			for _, cp := range c.Capabilities.Add {
				flags = append(flags, "--cap-add", string(cp))
			}
		}
		if c.Privileged != nil && *c.Privileged {
			return nil, fmt.Errorf("privileged containers are not run")
		}
		if c.SeccompProfile != nil && c.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			return nil, fmt.Errorf("seccomp profile %s is not reproduced", c.SeccompProfile.Type)
		}
	}
	switch {
	case uid != nil && gid != nil:
		flags = append(flags, "--user", fmt.Sprintf("%d:%d", *uid, *gid))
	case uid != nil:
		flags = append(flags, "--user", strconv.FormatInt(*uid, 10))
	case gid != nil:
		return nil, fmt.Errorf("runAsGroup without runAsUser is not reproduced")
	}
	if nonRoot != nil && *nonRoot && uid != nil && *uid == 0 {
		return nil, fmt.Errorf("runAsNonRoot with runAsUser 0: the kubelet refuses to start it")
	}
	return flags, nil
}

// volumeFlags mounts the pod's volumes: an emptyDir is a tmpfs, writable by the pod's user
// as the kubelet makes it, and a Secret volume is its keys written as files, read-only.
func volumeFlags(volumes []corev1.Volume, mounts []corev1.VolumeMount, pc podContext) ([]string, error) {
	byName := map[string]corev1.Volume{}
	for _, v := range volumes {
		byName[v.Name] = v
	}
	var flags []string
	for _, m := range mounts {
		v, ok := byName[m.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %s names no volume", m.Name)
		}
		if m.SubPath != "" {
			return nil, fmt.Errorf("volumeMount %s: subPath is not reproduced", m.Name)
		}
		switch {
		case v.EmptyDir != nil:
			flags = append(flags, "--mount", "type=tmpfs,destination="+m.MountPath+",tmpfs-mode=1777")
		case v.Secret != nil:
			dir, err := writeSecretVolume(v.Secret, pc, v.Name)
			if err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
			// The kubelet mounts Secret volumes read-only whatever the mount asks.
			flags = append(flags, "-v", dir+":"+m.MountPath+":ro")
		default:
			return nil, fmt.Errorf("volume %s: only emptyDir and secret volumes are reproduced", v.Name)
		}
	}
	return flags, nil
}

func writeSecretVolume(v *corev1.SecretVolumeSource, pc podContext, name string) (string, error) {
	s, ok := pc.secrets[v.SecretName]
	if !ok {
		return "", fmt.Errorf("no Secret %q", v.SecretName)
	}
	files := map[string]string{}
	if len(v.Items) == 0 {
		for k, val := range s {
			files[k] = val
		}
	}
	for _, it := range v.Items {
		val, ok := s[it.Key]
		if !ok {
			return "", fmt.Errorf("Secret %q has no key %q", v.SecretName, it.Key)
		}
		files[it.Path] = val
	}
	dir := filepath.Join(pc.dir, pc.name+"-"+name)
	for p, val := range files {
		f := filepath.Join(dir, filepath.Clean("/"+p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return "", err
		}
		// World-readable, as the kubelet's default mode 0644: the pod's user is not ours.
		if err := os.WriteFile(f, []byte(val), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// probePort is the container port an httpGet probe asks: a number, a port name, or, in a
// Knative Service, the serving port Knative fills in.
func probePort(c corev1.Container, g *corev1.HTTPGetAction, knative bool) (int, error) {
	switch {
	case g.Port.IntValue() > 0:
		return g.Port.IntValue(), nil
	case g.Port.StrVal != "":
		for _, p := range c.Ports {
			if p.Name == g.Port.StrVal {
				return int(p.ContainerPort), nil
			}
		}
		return 0, fmt.Errorf("port %q is not a container port", g.Port.StrVal)
	case knative:
		return knativePort, nil
	}
	return 0, fmt.Errorf("no port")
}
