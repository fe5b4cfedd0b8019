import type { Catalogue } from './catalogue';

export const de: Catalogue = {
  'page.title': 'Ihre Geschenkkarten',
  'page.orderRef': 'Bestellnummer: {orderId}',
  'page.support': 'Hilfe: {support}',
  'support.default': 'den Kundenservice des Händlers',

  'landing.heading': 'Ihre Geschenkkarten sind bereit',
  'landing.summary':
    '{count, plural, one {# Geschenkkarte} other {# Geschenkkarten}} · dieser Link ist gültig bis {expires, date, utc}',
  'landing.once':
    'Der Link funktioniert einmal. „Anzeigen“ zeigt die Codes {seconds, plural, one {# Sekunde} other {# Sekunden}} lang auf diesem Bildschirm; „Herunterladen“ speichert sie als Datei. Beides verbraucht den Link.',
  'landing.reveal': 'Anzeigen',
  'landing.downloadText': 'Herunterladen (Text)',
  'landing.downloadPdf': 'Herunterladen (PDF)',
  'landing.privacy': 'Achten Sie darauf, dass niemand Ihren Bildschirm sieht, bevor Sie die Codes anzeigen.',

  'reveal.card': 'Geschenkkarte {n}',
  'reveal.code': 'Code',
  'reveal.serial': 'Seriennummer',
  'reveal.barcode': 'Strichcode ({format}) des Codes dieser Karte',
  'reveal.qrcode': 'QR-Code des Codes dieser Karte',
  'reveal.copy': 'Code kopieren',
  'reveal.copied':
    'Code kopiert. Die Zwischenablage wird in {seconds, plural, one {# Sekunde} other {# Sekunden}} geleert.',
  'reveal.copiedKept':
    'Code kopiert. Ihr Browser erlaubt dieser Seite nicht, die Zwischenablage zu leeren: Kopieren Sie etwas anderes, sobald Sie den Code eingefügt haben.',
  'reveal.cleared': 'Die Zwischenablage wurde geleert.',
  'reveal.copyFailed': 'Der Code konnte nicht kopiert werden. Markieren Sie ihn und kopieren Sie ihn selbst.',
  'reveal.clipboardCaution':
    'Ein kopierter Code bleibt in der Zwischenablage, wo andere Apps ihn lesen können. Wo Ihr Browser es erlaubt, leert diese Seite sie nach {seconds, plural, one {# Sekunde} other {# Sekunden}}; fügen Sie den Code bald ein.',
  'reveal.print': 'Drucken',
  'reveal.hideAfter':
    'Diese Codes werden nach {seconds, plural, one {# Sekunde} other {# Sekunden}} ausgeblendet. Verwenden oder notieren Sie sie jetzt.',
  'reveal.secondsLeft': 'Verbleibende Sekunden:',
  'reveal.hideNow': 'Jetzt ausblenden',
  'reveal.hiddenHeading': 'Die Codes sind jetzt ausgeblendet',
  'reveal.hiddenText':
    'Dieser Link konnte nur einmal verwendet werden und kann die Codes nicht erneut zeigen. Für einen neuen Link wenden Sie sich an {support} und nennen Sie Ihre Bestellnummer {orderId}.',
  'reveal.noscript':
    'Schließen Sie diese Seite, sobald Sie Ihre Codes verwendet oder gespeichert haben. Dieser Link kann sie nicht erneut zeigen; für einen neuen Link wenden Sie sich mit der Bestellnummer {orderId} an {support}.',

  'download.title': 'Geschenkkarten der Bestellung {orderId}',
  'download.private': 'Halten Sie diese Datei geheim: Wer diese Codes hat, kann sie einlösen.',

  'error.notFound.heading': 'Dieser Link ist ungültig',
  'error.notFound.text': 'Prüfen Sie, ob Sie den vollständigen Link aus Ihrer E-Mail geöffnet haben.',
  'error.gone.heading': 'Dieser Link wurde bereits verwendet oder ist abgelaufen',
  'error.gone.text':
    'Geschenkkarten-Links funktionieren einmal und nur für begrenzte Zeit. Wenn Sie Ihre Geschenkkarten noch brauchen, wenden Sie sich für einen neuen Link an {support}.',
  'error.purged.heading': 'Diese Geschenkkarten sind nicht mehr verfügbar',
  'error.purged.text':
    'Die Geschenkkarten dieses Links können nicht mehr angezeigt werden. Wenden Sie sich an {support}, wenn Sie Hilfe brauchen.',
  'error.unavailable.heading': 'Vorübergehend nicht verfügbar',
  'error.unavailable.text':
    'Wir konnten Ihre Geschenkkarten gerade nicht öffnen. Ihr Link wurde nicht verbraucht. Bitte versuchen Sie es in einigen Minuten erneut.',
  'error.tooManyRequests.heading': 'Zu viele Anfragen',
  'error.tooManyRequests.text': 'Bitte warten Sie eine Minute und versuchen Sie es erneut.',
  'error.badRequest.heading': 'Diese Anfrage konnte nicht bearbeitet werden',
  'error.badRequest.text': 'Bitte gehen Sie zurück und versuchen Sie es erneut.',
  'error.pageNotFound.heading': 'Seite nicht gefunden',
  'error.pageNotFound.text': 'Unter dieser Adresse gibt es nichts.',
  'error.serverError.heading': 'Etwas ist schiefgelaufen',
  'error.serverError.text': 'Bitte versuchen Sie es in einigen Minuten erneut.',

  'mail.hello': 'Hallo,',
  'mail.footer':
    'Sie erhalten diese E-Mail, weil Geschenkkarten für Sie gekauft wurden. Wir senden Geschenkkarten-Codes nie per E-Mail und werden Sie nie danach fragen.',
  'mail.link.subject': 'Ihre Geschenkkarten (Bestellung {orderRef})',
  'mail.link.heading': 'Ihre Geschenkkarten sind bereit',
  'mail.link.ready':
    'Ihre Geschenkkarten der Bestellung {orderRef} sind bereit: {count, plural, one {# Karte} other {# Karten}}.',
  'mail.link.replaces':
    'Diese E-Mail ersetzt eine frühere zu denselben Geschenkkarten: Der Link in jener E-Mail funktioniert nicht mehr.',
  'mail.link.open': 'Öffnen Sie diesen Link, um sie anzuzeigen oder herunterzuladen:',
  'mail.link.button': 'Geschenkkarten öffnen',
  'mail.link.once':
    'Der Link funktioniert einmal und läuft am {expires, date, utc} ab. Nachdem Sie die Karten angezeigt oder heruntergeladen haben, funktioniert der Link nicht mehr; bewahren Sie die Codes also sicher auf. Ist er abgelaufen, bitten Sie {support} um einen neuen Link.',
  'mail.notice.subject': 'Zu Ihrer Geschenkkarten-Bestellung {orderRef}',
  'mail.notice.heading': 'Zu Ihrer Geschenkkarten-Bestellung',
  'mail.notice.failed': 'Wir konnten Ihre Geschenkkarten-Bestellung nicht abschließen.',
  'mail.notice.cancelled': 'Ihre Geschenkkarten-Bestellung wurde storniert.',
  'mail.notice.deadline': 'Ihre Geschenkkarten-Bestellung konnte nicht rechtzeitig abgeschlossen werden.',
  'mail.notice.some':
    '{delivered} von {quantity, plural, one {# Karte wurde} other {# Karten wurden}} Ihnen in einer separaten E-Mail zugestellt; der Rest wird nicht zugestellt.',
  'mail.notice.none': 'Es konnte keine Karte zugestellt werden.',
  'mail.notice.questions': 'Bei Fragen wenden Sie sich mit Ihrer Bestellnummer an {support}.',
  'mail.notice.ref': 'Bestellnummer: {orderRef}',
  'mail.notice.recipient-changed':
    'Die E-Mail mit dem Link zu Ihren Geschenkkarten für diese Bestellung konnte an diese Adresse nicht zugestellt werden, daher hat der Absender der Geschenkkarten sie an eine andere Adresse senden lassen. Der frühere Link funktioniert nicht mehr, und die Karten werden nicht hierher gesendet.',
  'mail.recipientChanged.subject':
    'Ihre Geschenkkarten-Bestellung {orderRef} wurde an eine andere Adresse gesendet',
  'mail.recipientChanged.heading': 'Ihre Geschenkkarten-Bestellung wurde an eine andere Adresse gesendet',
};
