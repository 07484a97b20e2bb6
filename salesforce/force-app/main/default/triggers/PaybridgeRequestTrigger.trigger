/** Delegates to PaybridgeRequests: key before insert, Queueable hand-off after insert/update. */
trigger PaybridgeRequestTrigger on CKO_Payment_Request__c(
    before insert,
    after insert,
    after update
) {
    PaybridgeRequests.handleTrigger(Trigger.operationType, Trigger.new, Trigger.oldMap);
}
