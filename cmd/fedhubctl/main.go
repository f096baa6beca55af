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

// Command fedhubctl joins member clusters to a fedhub federation, enables
// federated types and federates objects. Installed as kubectl-fedhub it is
// the kubectl plugin "kubectl fedhub".
package main

import (
	"errors"
	"fmt"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/fedhub/fedhub/pkg/fedhubctl"
)

func main() {
	cmd := fedhubctl.NewCommand(os.Args[0], os.Stdout, os.Stderr)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, describe(err))
		os.Exit(1)
	}
}

// describe words an error as kubectl does: an API server's own answer as
// "Error from server (Reason): message", anything else as "error: ...".
func describe(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message == err.Error() {
		return fmt.Sprintf("Error from server (%s): %s", apierrors.ReasonForError(err), err.Error())
	}
	return "error: " + err.Error()
}
