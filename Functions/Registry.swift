import SignalboxCore

/// Every handler function a rules file can name: the built-ins, then your own.
///
/// To add one, create its file next to this one (`bash tools/new-handler.sh NAME` writes the
/// file, this line and a test) and list its type here.
package enum HandlerCatalog {
    /// The handler functions, one line each.
    package static let all: [any HandlerFunction.Type] = [
        Log.self,
        Persist.self,
        NotifySMS.self,
        ShadowUpdate.self,
        Republish.self,
        Webhook.self,
        Lambda.self,
    ]
}
