/// A rules file, loaded and compiled, ready to be built into a running rule set.
package struct LoadedRuleSet: Sendable {
    /// The compiled rules.
    package var ruleSet: RuleSet
    /// How devices are keyed and when they count as silent (`devices:`).
    package var devices: DevicePolicy
    /// SHA-256 of the file, hex.
    package var digest: String
    /// The file's path.
    package var path: String

    /// Bundles a loaded rule set.
    package init(ruleSet: RuleSet, devices: DevicePolicy, digest: String, path: String) {
        self.ruleSet = ruleSet
        self.devices = devices
        self.digest = digest
        self.path = path
    }
}

/// Where the runtime gets its rules: the rules file, read and compiled again on each call.
package protocol RulesSource: Sendable {
    /// Reads and compiles the rules.
    ///
    /// - Throws: ``RulesError`` with every problem found.
    func load() throws(RulesError) -> LoadedRuleSet
}
