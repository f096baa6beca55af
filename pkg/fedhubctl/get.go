/*
Copyright The fedhub Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package fedhubctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// tableAccept asks a kube-apiserver for a Table, the columns kubectl prints.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

// defaultClusterTimeout bounds each cluster's requests, so that one
// unreachable cluster delays the table by this much at most.
const defaultClusterTimeout = 30 * time.Second

type getOptions struct {
	*GlobalOptions
	namespace     string
	allNamespaces bool
	clusters      string
	selector      string
	timeout       time.Duration
}

func newGetCommand(o *GlobalOptions) *cobra.Command {
	g := &getOptions{GlobalOptions: o}
	cmd := &cobra.Command{
		Use:   "get RESOURCE [NAME] --clusters all|NAME,...",
		Short: "Print one table of a resource in several member clusters, read through the hub",
		Long: "get reads RESOURCE (resolved as kubectl resolves it, against each member's discovery) from each " +
			"member cluster through the host's proxy of its KubeFedCluster, with the host context's user, so " +
			"the host's RBAC on kubefedclusters/proxy and the member's RBAC on the \"fedhub:\"-prefixed user " +
			"both apply. It prints one table: a CLUSTER column, then the columns each member's server gives, " +
			"rows sorted by cluster. Clusters that could not be read are named with the reason after the " +
			"table, on stderr, and make the exit status 1.",
		Example: "  " + o.CommandName + " get pods -A --clusters all\n" +
			"  " + o.CommandName + " get deployments -n team-a --clusters member-1,member-2 -l app=web\n" +
			"  " + o.CommandName + " get ns --clusters all",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			return g.run(cmd.Context(), args[0], name)
		},
	}
	cmd.Flags().StringVarP(&g.namespace, "namespace", "n", "", "Namespace to read in each cluster; by default the host context's namespace, or default.")
	cmd.Flags().BoolVarP(&g.allNamespaces, "all-namespaces", "A", false, "Read every namespace, with a NAMESPACE column.")
	cmd.Flags().StringVar(&g.clusters, "clusters", "all", "\"all\" for every KubeFedCluster, or a comma-separated list of their names.")
	cmd.Flags().StringVarP(&g.selector, "selector", "l", "", "Label selector, as kubectl get's.")
	cmd.Flags().DurationVar(&g.timeout, "cluster-timeout", defaultClusterTimeout, "How long each cluster may take to answer.")
	return cmd
}

// clusterTable is one cluster's answer, or its error.
type clusterTable struct {
	cluster string
	table   *metav1.Table
	// namespaced says whether the rows need a NAMESPACE column with -A.
	namespaced bool
	err        error
}

func (g *getOptions) run(ctx context.Context, resource, name string) error {
	if name != "" && g.allNamespaces {
		return fmt.Errorf("a resource cannot be retrieved by name across all namespaces")
	}
	if _, err := labels.Parse(g.selector); err != nil {
		return fmt.Errorf("selector %q: %w", g.selector, err)
	}
	clientConfig := g.clientConfig()
	hostConfig, err := clientConfig.ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if g.namespace == "" {
		if g.namespace, _, err = clientConfig.Namespace(); err != nil {
			return fmt.Errorf("kubeconfig: %w", err)
		}
	}
	host, err := g.Host()
	if err != nil {
		return err
	}
	clusters, err := g.clusterNames(ctx, host)
	if err != nil {
		return err
	}

	results := make([]clusterTable, len(clusters))
	var wg sync.WaitGroup
	for i, cluster := range clusters {
		wg.Go(func() {
			results[i] = g.readCluster(ctx, hostConfig, cluster, resource, name)
		})
	}
	wg.Wait()

	var failed []string
	rows := 0
	for _, result := range results {
		if result.err != nil {
			failed = append(failed, result.cluster)
		} else {
			rows += len(result.table.Rows)
		}
	}
	if rows > 0 {
		if err := printTables(g.Out, results, g.allNamespaces); err != nil {
			return err
		}
	} else if len(failed) < len(results) {
		fmt.Fprintln(g.ErrOut, g.noResources())
	}
	for _, result := range results {
		if result.err != nil {
			fmt.Fprintf(g.ErrOut, "cluster %s: %s\n", result.cluster, describeError(result.err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d clusters failed: %s", len(failed), len(results), strings.Join(failed, ", "))
	}
	return nil
}

// clientConfig is the kubeconfig's host context, as RESTConfig reads it.
func (g *getOptions) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.Kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: g.HostContext})
}

// noResources is kubectl's line for an empty answer.
func (g *getOptions) noResources() string {
	if g.allNamespaces {
		return "No resources found"
	}
	return fmt.Sprintf("No resources found in %s namespace.", g.namespace)
}

// clusterNames are the clusters --clusters names, sorted: every
// KubeFedCluster for "all".
func (g *getOptions) clusterNames(ctx context.Context, host *HostClients) ([]string, error) {
	var names []string
	if g.clusters == "all" {
		list, err := host.Fedhub.CoreV1beta1().KubeFedClusters(g.FederationNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, cluster := range list.Items {
			names = append(names, cluster.Name)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no KubeFedClusters in namespace %s", g.FederationNamespace)
		}
	} else {
		for name := range strings.SplitSeq(g.clusters, ",") {
			if name = strings.TrimSpace(name); name != "" {
				names = append(names, name)
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("--clusters names no cluster; use \"all\" or a comma-separated list")
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// proxyConfig is hostConfig with the cluster's proxy URL as its server.
func proxyConfig(hostConfig *rest.Config, federationNamespace, cluster string, timeout time.Duration) *rest.Config {
	config := rest.CopyConfig(hostConfig)
	config.Host = strings.TrimSuffix(hostConfig.Host, "/") + ClusterProxyPath(federationNamespace, cluster)
	if timeout > 0 {
		config.Timeout = timeout
	}
	return config
}

// readCluster resolves resource through the cluster's discovery and reads
// it as a Table, all through the host's proxy.
func (g *getOptions) readCluster(ctx context.Context, hostConfig *rest.Config, cluster, resource, name string) clusterTable {
	result := clusterTable{cluster: cluster}
	config := proxyConfig(hostConfig, g.FederationNamespace, cluster, g.timeout)
	config.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	// Discovery words a refusal (the host's, on kubefedclusters/proxy, or
	// the member's) as "unknown" and logs it; one plain request first keeps
	// the server's own message.
	plain, err := rest.UnversionedRESTClientFor(config)
	if err != nil {
		result.err = err
		return result
	}
	if err := plain.Get().AbsPath("/api").Do(ctx).Error(); err != nil {
		result.err = err
		return result
	}
	discoveryClient, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		result.err = err
		return result
	}
	types := g.newClusterTypes("cluster "+cluster, discoveryClient)
	mapping, err := types.mapping(ctx, resource)
	if err != nil {
		if meta.IsNoMatchError(err) {
			err = fmt.Errorf("the server doesn't have a resource type %q", resource)
		}
		result.err = err
		return result
	}
	result.namespaced = mapping.Scope.Name() == meta.RESTScopeNameNamespace

	gv := mapping.Resource.GroupVersion()
	config.GroupVersion = &gv
	config.APIPath = "/apis"
	if gv.Group == "" {
		config.APIPath = "/api"
	}
	client, err := rest.RESTClientFor(config)
	if err != nil {
		result.err = err
		return result
	}
	request := client.Get().
		NamespaceIfScoped(g.namespace, result.namespaced && !g.allNamespaces).
		Resource(mapping.Resource.Resource).
		SetHeader("Accept", tableAccept).
		Param("includeObject", string(metav1.IncludeMetadata))
	if name != "" {
		request = request.Name(name)
	}
	if g.selector != "" {
		request = request.Param("labelSelector", g.selector)
	}
	data, err := request.Do(ctx).Raw()
	if err != nil {
		result.err = err
		return result
	}
	table := &metav1.Table{}
	if err := json.Unmarshal(data, table); err != nil || table.Kind != "Table" {
		result.err = fmt.Errorf("the server did not answer with a Table for %s (kind %q): %v", mapping.Resource.GroupResource(), table.Kind, err)
		return result
	}
	result.table = table
	return result
}

// printTables prints the clusters' rows as one table: CLUSTER, NAMESPACE
// with -A for namespaced resources, then every column any cluster gives
// that kubectl shows by default (priority 0), in the order first seen.
// results are sorted by cluster.
func printTables(out io.Writer, results []clusterTable, allNamespaces bool) error {
	var columns []string
	withNamespace := false
	for _, result := range results {
		if result.err != nil {
			continue
		}
		withNamespace = withNamespace || (allNamespaces && result.namespaced)
		for _, column := range result.table.ColumnDefinitions {
			if column.Priority == 0 && !slices.Contains(columns, column.Name) {
				columns = append(columns, column.Name)
			}
		}
	}
	header := []string{"CLUSTER"}
	if withNamespace {
		header = append(header, "NAMESPACE")
	}
	for _, column := range columns {
		header = append(header, strings.ToUpper(column))
	}
	w := tabwriter.NewWriter(out, 10, 4, 3, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, result := range results {
		if result.err != nil {
			continue
		}
		index := map[string]int{}
		for i, column := range result.table.ColumnDefinitions {
			index[column.Name] = i
		}
		for _, row := range result.table.Rows {
			line := []string{result.cluster}
			if withNamespace {
				line = append(line, rowNamespace(row))
			}
			for _, column := range columns {
				i, ok := index[column]
				if !ok || i >= len(row.Cells) {
					line = append(line, "<none>")
					continue
				}
				line = append(line, formatCell(row.Cells[i]))
			}
			fmt.Fprintln(w, strings.Join(line, "\t"))
		}
	}
	return w.Flush()
}

// rowNamespace is the namespace of the object a row describes, from the
// metadata the server includes with it.
func rowNamespace(row metav1.TableRow) string {
	if len(row.Object.Raw) == 0 {
		return ""
	}
	var object metav1.PartialObjectMetadata
	if err := json.Unmarshal(row.Object.Raw, &object); err != nil {
		return ""
	}
	return object.Namespace
}

// formatCell prints a cell as kubectl does.
func formatCell(cell any) string {
	switch cell := cell.(type) {
	case nil:
		return "<none>"
	case string:
		return cell
	case float64:
		// JSON numbers: integers print without a fraction.
		if cell == float64(int64(cell)) {
			return fmt.Sprint(int64(cell))
		}
		return fmt.Sprint(cell)
	default:
		return fmt.Sprint(cell)
	}
}

// describeError words an error as kubectl does: an API server's own answer
// as "Error from server (Reason): message".
func describeError(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message == err.Error() {
		return fmt.Sprintf("Error from server (%s): %s", apierrors.ReasonForError(err), err.Error())
	}
	return err.Error()
}
