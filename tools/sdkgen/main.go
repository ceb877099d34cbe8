// Command sdkgen writes the TypeScript and Go SDKs of the vertex-tuning package from its schema,
// as `pulumi package gen-sdk <schema> --language nodejs|go --local --out sdk` would.
//
// gen-sdk is not used because CLI 3.259 hands the generation to each language's host (the
// GeneratePackage call of pulumi-language-nodejs and pulumi-language-go), and those hosts cannot
// be obtained offline: their modules are not served by the Go module proxy. The hosts themselves
// only bind the schema and call pkg/v3's codegen/nodejs and codegen/go GeneratePackage; this
// program does the same with pkg/v3 at the CLI's own version, so the files are the ones gen-sdk
// writes. Nothing here changes what the generators write.
//
//	sdkgen                  # rewrite sdk/nodejs and sdk/go from tuning_provider/plugin/schema.json
//	sdkgen -check           # exit 1 naming each file that differs from what the schema gives
//
// Run it from the repository's root (`make sdks` builds it once per machine and runs it there).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// The command a stale file's message names.
const regenerate = "make sdks"

// What gen-sdk's host call of each language becomes here: the tool name its files are stamped
// with, and its GeneratePackage. `local` is gen-sdk's --local: a Node.js package built from its
// sources where it is installed (nothing of it is published), which the Go generator ignores.
var languages = []struct {
	name     string
	generate func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error)
}{
	{"go", func(pkg *schema.Package, _ schema.ReferenceLoader) (map[string][]byte, error) {
		return gogen.GeneratePackage("pulumi-language-go", pkg, nil)
	}},
	{"nodejs", func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error) {
		return nodejsgen.GeneratePackage("pulumi-language-nodejs", pkg, nil, nil, true, loader)
	}},
}

func main() {
	schemaPath := flag.String("schema", "tuning_provider/plugin/schema.json", "the package schema")
	out := flag.String("out", "sdk", "the folder that holds one folder per language")
	check := flag.Bool("check", false, "write nothing; exit 1 if a committed SDK differs from what the schema gives")
	flag.Parse()

	stale, err := run(*schemaPath, *out, *check)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdkgen: %v\n", err)
		os.Exit(2)
	}
	for _, problem := range stale {
		fmt.Fprintf(os.Stderr, "%s: run %s\n", problem, regenerate)
	}
	if len(stale) > 0 {
		os.Exit(1)
	}
}

// run generates every language's SDK and writes it (or, with check, compares it with what is
// there); it returns the differences found in check mode.
func run(schemaPath, out string, check bool) ([]string, error) {
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, language := range languages {
		// Each host binds the schema afresh, as the CLI sends it, with a loader of its own.
		pkg, loader, err := bindAsTheCLISends(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", schemaPath, err)
		}
		files, err := language.generate(pkg, loader)
		if err != nil {
			return nil, fmt.Errorf("generating the %s SDK: %w", language.name, err)
		}
		dir := filepath.Join(out, language.name)
		if check {
			differences, err := compare(dir, files)
			if err != nil {
				return nil, err
			}
			stale = append(stale, differences...)
			continue
		}
		if err := replace(dir, files); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "sdkgen: wrote %d files to %s\n", len(files), dir)
	}
	return stale, nil
}

// bindAsTheCLISends binds the schema as `pulumi package gen-sdk` does, then binds the JSON it
// would send a language host again, as the host does.
func bindAsTheCLISends(data []byte) (*schema.Package, schema.ReferenceLoader, error) {
	loader := schema.NewCachedLoader(noExternalPackages{})
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, nil, err
	}
	pkg, err := bind(spec, loader)
	if err != nil {
		return nil, nil, err
	}
	sent, err := pkg.MarshalJSON()
	if err != nil {
		return nil, nil, err
	}
	var received schema.PackageSpec
	if err := json.Unmarshal(sent, &received); err != nil {
		return nil, nil, err
	}
	pkg, err = bind(received, loader)
	return pkg, loader, err
}

func bind(spec schema.PackageSpec, loader schema.ReferenceLoader) (*schema.Package, error) {
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return pkg, nil
}

// noExternalPackages is the schema loader: the package refers to no other package (only
// pulumi.json's built-in types), so a reference to one is a mistake in the schema, said here
// instead of looking for a plugin.
type noExternalPackages struct{}

func (noExternalPackages) refuse(name string) error {
	return fmt.Errorf("the schema refers to the package %q: the vertex-tuning schema must name no other package", name)
}

func (l noExternalPackages) LoadPackage(name string, _ *semver.Version) (*schema.Package, error) {
	return nil, l.refuse(name)
}

func (l noExternalPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, l.refuse(d.Name)
}

func (l noExternalPackages) LoadPackageReference(name string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, l.refuse(name)
}

func (l noExternalPackages) LoadPackageReferenceV2(
	_ context.Context, d *schema.PackageDescriptor,
) (schema.PackageReference, error) {
	return nil, l.refuse(d.Name)
}

// replace makes dir hold exactly the generated files, as gen-sdk does (it empties the folder first).
func replace(dir string, files map[string][]byte) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, name := range sortedNames(files) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// compare names each file of dir that is missing, different or not generated.
func compare(dir string, files map[string][]byte) ([]string, error) {
	var differences []string
	for _, name := range sortedNames(files) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		committed, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			differences = append(differences, path+" is missing")
		case err != nil:
			return nil, err
		case !bytes.Equal(committed, files[name]):
			differences = append(differences, path+" is not what the schema gives")
		}
	}
	err := filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		name, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if _, generated := files[filepath.ToSlash(name)]; !generated {
			differences = append(differences, path+" is not generated from the schema")
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil // every file was reported missing above
	}
	return differences, err
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
