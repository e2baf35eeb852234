"""The model library: the models installed on this computer, and the ways to get, check and remove them.

One folder (under the app's data directory unless a policy names another) holds every downloaded or copied
model and every converted package, with `registry.json` describing each. Downloading is the one time Enclave
goes online, and only when the user starts it (`hub`, `download`); copies from a USB drive or a share come in
through `importer`; `verify` checks files against hashes pinned in the catalog, the Hub's LFS hashes or a
package manifest; `opening` is what every client calls before a model is loaded, so that opening is verifying.
No Qt here: the CLI (`enclave models`) and the window are two clients of the same `Library`.
"""
