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

package join

import (
	"context"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// objectClient is the part of a typed client that join and unjoin use.
type objectClient[T metav1.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// journal prints each step and remembers what a join created, so that a join
// that fails part-way removes it again instead of leaving half a cluster joined.
type journal struct {
	progress io.Writer
	dryRun   bool
	// errorOnExisting refuses to touch objects that exist already.
	errorOnExisting bool
	created         []createdObject
}

type createdObject struct {
	what   string
	delete func(context.Context) error
}

func (j *journal) printf(format string, args ...any) {
	if j.progress == nil {
		return
	}
	if j.dryRun {
		format += " (dry run)"
	}
	fmt.Fprintf(j.progress, format+"\n", args...)
}

func (j *journal) dryRunValue() []string {
	if j.dryRun {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// rollback deletes what the journal created, newest first, and says so.
func (j *journal) rollback(ctx context.Context) {
	if len(j.created) == 0 || j.dryRun {
		return
	}
	j.printf("join failed; removing what it created:")
	for i := len(j.created) - 1; i >= 0; i-- {
		c := j.created[i]
		if err := c.delete(ctx); err != nil && !apierrors.IsNotFound(err) {
			j.printf("  %s: NOT removed: %v", c.what, err)
			continue
		}
		j.printf("  %s removed", c.what)
	}
	j.created = nil
}

// apply creates obj or, when it exists, replaces its content with obj's
// (or refuses with errorOnExisting). what names it in messages.
func apply[T metav1.Object](ctx context.Context, j *journal, what string, client objectClient[T], obj T) (T, error) {
	created, err := client.Create(ctx, obj, metav1.CreateOptions{DryRun: j.dryRunValue()})
	if err == nil {
		j.record(what, func(ctx context.Context) error { return client.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}) })
		j.printf("%s created", what)
		return created, nil
	}
	var none T
	if !apierrors.IsAlreadyExists(err) {
		return none, fmt.Errorf("creating %s: %w", what, err)
	}
	if j.errorOnExisting {
		return none, fmt.Errorf("%s already exists (--error-on-existing)", what)
	}
	existing, err := client.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return none, fmt.Errorf("reading %s: %w", what, err)
	}
	obj.SetResourceVersion(existing.GetResourceVersion())
	updated, err := client.Update(ctx, obj, metav1.UpdateOptions{DryRun: j.dryRunValue()})
	if err != nil {
		return none, fmt.Errorf("updating %s: %w", what, err)
	}
	j.printf("%s updated", what)
	return updated, nil
}

func (j *journal) record(what string, delete func(context.Context) error) {
	if !j.dryRun {
		j.created = append(j.created, createdObject{what: what, delete: delete})
	}
}
