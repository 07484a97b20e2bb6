/**
 * Pure view helpers of paybridgePaymentTimeline: what the Apex reads become on screen, which
 * operations a payment's status offers, and how errors read. No DOM, no Apex: tested directly.
 */

// CKO_Payment__c.Status__c values in which Checkout.com allows each operation. The buttons are a
// hint only: paybridge checks the amounts and answers invalid_state when a stale page is wrong.
const CAPTURABLE = new Set(['Authorized', 'Partially Captured']);
const REFUNDABLE = new Set(['Captured', 'Partially Captured', 'Partially Refunded']);
const VOIDABLE = new Set(['Authorized']);

const GOOD = new Set(['Succeeded', 'Info']);
const BAD = new Set(['Declined', 'Error']);
const PENDING = new Set(['Requested', 'Pending', 'Warning']);

export const OPERATION_LABELS = Object.freeze({
    capture: 'Capture',
    refund: 'Refund',
    void: 'Void'
});

function badgeClass(status) {
    if (GOOD.has(status)) {
        return 'slds-badge slds-theme_success';
    }
    if (BAD.has(status)) {
        return 'slds-badge slds-theme_error';
    }
    if (PENDING.has(status)) {
        return 'slds-badge slds-theme_warning';
    }
    return 'slds-badge';
}

function joined(parts) {
    return parts.filter((part) => part !== undefined && part !== null && part !== '').join(' · ');
}

function actionEntry(action, currencyCode) {
    return {
        key: `action-${action.recordId}`,
        kind: 'action',
        at: action.processedAt || action.requestedAt || null,
        title: action.type || 'Action',
        status: action.status,
        badgeClass: badgeClass(action.status),
        amount: action.amount,
        hasAmount: action.amount !== undefined && action.amount !== null,
        currencyCode,
        detail: joined([
            action.reference && `Reference ${action.reference}`,
            action.responseCode && `Response ${action.responseCode}`,
            action.actionId
        ])
    };
}

function logEntry(log) {
    return {
        key: `log-${log.recordId}`,
        kind: 'log',
        at: log.occurredAt || null,
        title: joined([log.direction, log.operation]) || log.name || 'Log',
        status: log.level,
        badgeClass: badgeClass(log.level),
        amount: null,
        hasAmount: false,
        currencyCode: null,
        detail: joined([
            log.httpStatus !== undefined && log.httpStatus !== null && `HTTP ${log.httpStatus}`,
            log.errorCode,
            log.message,
            log.requestId && `request ${log.requestId}`
        ])
    };
}

function newestFirst(left, right) {
    const a = left.at ? Date.parse(left.at) : -Infinity;
    const b = right.at ? Date.parse(right.at) : -Infinity;
    return b - a;
}

/** One payment's actions and logs as one list, newest first (undated entries last). */
export function timelineOf(payment) {
    const actions = (payment.actions || []).map((action) =>
        actionEntry(action, payment.currencyCode)
    );
    const logs = (payment.logs || []).map(logEntry);
    return [...actions, ...logs].sort(newestFirst);
}

function amountsOf(payment) {
    return [
        { key: 'authorized', label: 'Authorized', value: payment.authorizedAmount },
        { key: 'captured', label: 'Captured', value: payment.capturedAmount },
        { key: 'refunded', label: 'Refunded', value: payment.refundedAmount }
    ];
}

function operationsOf(payment) {
    const hasId = Boolean(payment.paymentId);
    const allowed = {
        capture: CAPTURABLE.has(payment.status),
        refund: REFUNDABLE.has(payment.status),
        void: VOIDABLE.has(payment.status)
    };
    return Object.keys(OPERATION_LABELS).map((operation) => ({
        operation,
        label: OPERATION_LABELS[operation],
        variant: operation === 'void' ? 'destructive-text' : 'neutral',
        disabled: !(hasId && allowed[operation])
    }));
}

/** A payment as the template shows it: amounts, timeline and which buttons are enabled. */
export function toView(payment) {
    const entries = timelineOf(payment);
    return {
        ...payment,
        recordUrl: `/${payment.recordId}`,
        amounts: amountsOf(payment),
        operations: operationsOf(payment),
        entries,
        hasEntries: entries.length > 0,
        statusClass: badgeClass(payment.status)
    };
}

/**
 * The amount field's text as Apex takes it: null for "all still capturable/refundable",
 * a positive number otherwise; undefined when the text is not a positive amount.
 */
export function parseAmount(text) {
    if (text === undefined || text === null || String(text).trim() === '') {
        return null;
    }
    const amount = Number(text);
    return Number.isFinite(amount) && amount > 0 ? amount : undefined;
}

/** The message of an Apex, wire or script error (body.message, a body list, or message). */
export function errorMessage(error) {
    if (!error) {
        return 'Unknown error';
    }
    const body = error.body;
    if (Array.isArray(body)) {
        return body.map((item) => item.message).join(', ');
    }
    if (body && typeof body.message === 'string') {
        return body.message;
    }
    if (typeof error.message === 'string') {
        return error.message;
    }
    return 'Unknown error';
}

/** A refused Flow result as one line: paybridge's message, code and request id for support. */
export function failureMessage(result) {
    const reference = joined([
        result.errorCode,
        result.httpStatus ? `HTTP ${result.httpStatus}` : null,
        result.requestId && `request ${result.requestId}`
    ]);
    const message = (result.errorMessage || 'paybridge refused the request').replace(/\.$/, '');
    const retry = result.retryable ? ' Try again: the retry reuses the same idempotency key.' : '';
    return `${message}${reference ? ` (${reference})` : ''}.${retry}`;
}
