package chartcheck

import (
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
)

// KubeVersion is the one ci/kube-check's API server reports; the chart's kubeVersion refuses
// helm's library default of v1.20.
var KubeVersion = &chartutil.KubeVersion{Version: "v1.34.4", Major: "1", Minor: "34"}

// DryRun renders ch as `helm install --dry-run` does, schema included, for the tests and the
// pod check alike.
func DryRun(ch *chart.Chart, releaseName, namespace string, vals map[string]any) (*release.Release, error) {
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = releaseName
	install.Namespace = namespace
	install.KubeVersion = KubeVersion
	return install.Run(ch, vals)
}
