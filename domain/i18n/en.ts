/** English: the reference catalogue. Every other locale has exactly these keys (test/unit/i18n.test.ts). */
export const en = {
  'page.title': 'Your gift cards',
  'page.orderRef': 'Order reference: {orderId}',
  'page.support': 'Help: {support}',
  'support.default': 'the merchant’s customer support',

  'landing.heading': 'Your gift cards are ready',
  'landing.summary':
    '{count, plural, one {# gift card} other {# gift cards}} · this link is valid until {expires, date, utc}',
  'landing.once':
    'The link works once. Reveal shows the codes on this screen for {seconds, plural, one {# second} other {# seconds}}; Download saves them as a file. Either one uses up the link.',
  'landing.reveal': 'Reveal',
  'landing.downloadText': 'Download (text)',
  'landing.downloadPdf': 'Download (PDF)',
  'landing.privacy': 'Make sure nobody can see your screen before you reveal the codes.',

  'reveal.card': 'Gift card {n}',
  'reveal.code': 'Code',
  'reveal.serial': 'Serial',
  'reveal.barcode': 'Barcode ({format}) of this card’s code',
  'reveal.qrcode': 'QR code of this card’s code',
  'reveal.copy': 'Copy code',
  'reveal.copied':
    'Code copied. The clipboard will be cleared in {seconds, plural, one {# second} other {# seconds}}.',
  'reveal.copiedKept':
    'Code copied. Your browser does not let this page clear the clipboard: copy something else once you have pasted the code.',
  'reveal.cleared': 'The clipboard was cleared.',
  'reveal.copyFailed': 'The code could not be copied. Select it and copy it yourself.',
  'reveal.clipboardCaution':
    'A copied code stays on your clipboard, where other apps can read it. Where your browser allows, this page clears it after {seconds, plural, one {# second} other {# seconds}}; paste the code soon.',
  'reveal.print': 'Print',
  'reveal.hideAfter':
    'These codes will be hidden after {seconds, plural, one {# second} other {# seconds}}. Use them or write them down now.',
  'reveal.secondsLeft': 'Seconds left:',
  'reveal.hideNow': 'Hide now',
  'reveal.hiddenHeading': 'The codes are now hidden',
  'reveal.hiddenText':
    'This link could be used only once, so it cannot show the codes again. To get a new link, contact {support} and give them your order reference {orderId}.',
  'reveal.noscript':
    'Close this page once you have used or saved your codes. This link cannot show them again; for a new link, contact {support} with order reference {orderId}.',

  'download.title': 'Gift cards for order {orderId}',
  'download.private': 'Keep this file private: anyone who has these codes can spend them.',

  'error.notFound.heading': 'This link is not valid',
  'error.notFound.text': 'Check that you opened the complete link from your email.',
  'error.gone.heading': 'This link has already been used or has expired',
  'error.gone.text':
    'Gift card links work once and for a limited time. If you still need your gift cards, contact {support} to get a new link.',
  'error.purged.heading': 'These gift cards are no longer available',
  'error.purged.text':
    'The gift cards for this link can no longer be shown. Contact {support} if you need help.',
  'error.unavailable.heading': 'Temporarily unavailable',
  'error.unavailable.text':
    'We could not open your gift cards just now. Your link has not been used. Please try again in a few minutes.',
  'error.tooManyRequests.heading': 'Too many requests',
  'error.tooManyRequests.text': 'Please wait a minute and try again.',
  'error.badRequest.heading': 'This request could not be handled',
  'error.badRequest.text': 'Please go back and try again.',
  'error.pageNotFound.heading': 'Page not found',
  'error.pageNotFound.text': 'There is nothing at this address.',
  'error.serverError.heading': 'Something went wrong',
  'error.serverError.text': 'Please try again in a few minutes.',

  'mail.hello': 'Hello,',
  'mail.footer':
    'You receive this email because gift cards were bought for you. We never send gift card codes by email and will never ask you for them.',
  'mail.link.subject': 'Your gift cards (order {orderRef})',
  'mail.link.heading': 'Your gift cards are ready',
  'mail.link.ready':
    'Your gift cards for order {orderRef} are ready: {count, plural, one {# card} other {# cards}}.',
  'mail.link.replaces':
    'This email replaces an earlier one about the same gift cards: the link in that email no longer works.',
  'mail.link.open': 'Open this link to reveal or download them:',
  'mail.link.button': 'Open your gift cards',
  'mail.link.once':
    'The link works once and expires on {expires, date, utc}. After you reveal or download the cards, the link stops working, so keep the codes somewhere safe. If it has expired, ask {support} for a new link.',
  'mail.notice.subject': 'About your gift card order {orderRef}',
  'mail.notice.heading': 'About your gift card order',
  'mail.notice.failed': 'We could not complete your gift card order.',
  'mail.notice.cancelled': 'Your gift card order was cancelled.',
  'mail.notice.deadline': 'Your gift card order could not be completed in time.',
  'mail.notice.some':
    '{delivered} of {quantity, plural, one {# card was} other {# cards were}} delivered to you in a separate email; the rest will not be.',
  'mail.notice.none': 'No card could be delivered.',
  'mail.notice.questions': 'If you have questions, contact {support} with your order reference.',
  'mail.notice.ref': 'Order reference: {orderRef}',
  'mail.notice.recipient-changed':
    'The email with the link to your gift cards for this order could not be delivered to this address, so the sender of the gift cards had it sent to another address. The earlier link no longer works, and the cards will not be sent here.',
  'mail.recipientChanged.subject': 'Your gift card order {orderRef} was sent to another address',
  'mail.recipientChanged.heading': 'Your gift card order was sent to another address',
} as const;

export type MessageKey = keyof typeof en;
