import Crypto
import SignalboxConfig
import SignalboxCore

/// The rules file as the runtime's ``RulesSource``: read, compiled and fingerprinted on each load,
/// with every handler's configuration checked by building it.
package struct RulesFileSource: RulesSource {
    /// The file's path.
    package let path: String
    /// Reads and compiles the YAML.
    package let loader: RulesLoader

    /// A source for the file at `path`.
    package init(path: String, loader: RulesLoader = RulesLoader()) {
        self.path = path
        self.loader = loader
    }

    package func load() throws(RulesError) -> LoadedRuleSet {
        let text = try RulesLoader.read(path: path)
        let loaded = try loader.load(yaml: text, name: path)
        let digest = SHA256.hash(data: Array(text.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
        return LoadedRuleSet(ruleSet: loaded.ruleSet, devices: loaded.document.devices, digest: digest, path: path)
    }
}
