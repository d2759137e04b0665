import SignalboxCore

/// The errors of request parsing and of the engine, with AWS's codes and messages.
extension ShadowError {
    package static let invalidJSON = ShadowError(.badRequest, "Invalid JSON")
    package static let missingState = ShadowError(.badRequest, "Missing required node: state")
    package static let stateNotObject = ShadowError(.badRequest, "State node must be an object")
    package static let desiredNotObject = ShadowError(.badRequest, "Desired node must be an object")
    package static let reportedNotObject = ShadowError(.badRequest, "Reported node must be an object")
    package static let invalidVersion = ShadowError(.badRequest, "Invalid version")
    package static let invalidClientToken = ShadowError(.badRequest, "Invalid clientToken")
    package static let invalidStateNode = ShadowError(.badRequest, "State contains an invalid node")
    package static let nullInArray = ShadowError(.badRequest, "Arrays can't contain null values")
    package static let versionConflict = ShadowError(.conflict, "Version conflict")
    package static let payloadTooLarge = ShadowError(.payloadTooLarge, "The payload exceeds the maximum size allowed")
    package static let unsupportedEncoding = ShadowError(
        .unsupportedEncoding, "Unsupported documented encoding; supported encoding is UTF-8")

    package static func tooDeep(_ limit: Int) -> ShadowError {
        ShadowError(.badRequest, "JSON contains too many levels of nesting; maximum is \(limit)")
    }

    /// 404 for a shadow that does not exist; AWS names the named shadow, or the thing for a classic one.
    package static func notFound(_ key: ShadowKey) -> ShadowError {
        ShadowError(.notFound, "No shadow exists with name: '\(key.name ?? key.thing)'")
    }
}
