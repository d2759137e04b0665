/// What the silence monitor keeps of a device across restarts.
package struct DeviceActivity: Sendable, Hashable {
    /// The device key.
    package var device: String
    /// The journal time (ms since the epoch) of the newest message seen from the device.
    package var lastSeen: Int64
    /// Whether its `silent` event has been journaled and it has not reported since.
    package var silent: Bool

    /// Bundles an activity.
    package init(device: String, lastSeen: Int64, silent: Bool) {
        self.device = device
        self.lastSeen = lastSeen
        self.silent = silent
    }
}

/// When each device was last seen and whether it was reported silent, kept across restarts so that
/// a device that stops reporting while Signalbox is down is still reported, and only once.
package protocol DeviceActivityStorage: Sendable {
    /// Every stored device, sorted by device key.
    func activities() async throws -> [DeviceActivity]

    /// Stores `activities`, replacing the stored state of the same devices.
    func save(_ activities: [DeviceActivity]) async throws
}
