// Authorisation on the page, both ways: the prompt cards for other devices asking to join (with
// their warnings, Authorise / Deny), and this device's own request with the code each approving
// device sends, shown beside that device's name.
import { AuthError, type Account, type ApproverCode, type AuthorisationPrompt } from '@hypha/auth'
import { warningTexts } from '../../src/format.js'
import { page } from './page-state.js'
import { $, el, log, message, refreshStatus, show, showError } from './view.js'

/** The prompt card shown for each request waiting for an answer here. */
const prompts = new Map<AuthorisationPrompt, HTMLElement>()

/** Shows other devices' requests as they come, and takes them away once settled. */
export function wireAuthorisation(acc: Account): void {
  acc.on('authorisation-request', (prompt) => addPrompt(prompt))
  acc.on('authorisation-settled', (prompt) => {
    const card = prompts.get(prompt)
    prompts.delete(prompt)
    card?.remove()
    const what: Record<string, string> = {
      approved: 'authorised here',
      denied: 'denied here',
      'approved-elsewhere': 'approved on another device',
      'denied-elsewhere': 'denied on another device',
      cancelled: 'withdrawn by that device',
      expired: 'expired without an answer'
    }
    log(`The request from "${prompt.nodeName}" (code ${prompt.code}) was ${what[prompt.status] ?? prompt.status}.`)
  })
  acc.on('request-refused', ({ reason, nodeName }) =>
    log(`Ignored a request from "${nodeName}": ${reason === 'too-many-pending' ? 'too many requests from it are open' : 'its code did not match its commitment'}.`)
  )
}

/** Asks the other devices to authorise this one (unless writable, or asking already). */
export function ask(acc: Account): void {
  if (acc.writable || page.request) return
  const current = acc.requestAuthorisation()
  page.request = current
  $('request-codes').replaceChildren()
  $('request-status').textContent = ''
  show('request-waiting', true)
  show('request-again', false)
  show('request', true)
  log(`Asked the other devices to authorise "${acc.nodeName}".`)
  // Each approving device's code, known once it answered the request: shown beside its name.
  current.on('code', (code) => addCode(code))
  current.on('approved', () => log('Approved on another device: waiting for the approval to reach this one.'))
  current.on('in-doubt', () => log('Offline when the request timed out: the answer is not known yet, it is asked again on reconnection.'))
  for (const code of current.codes) addCode(code)
  current.done.then(
    () => {
      if (page.request === current) page.request = null
      show('request', false)
      log('Approved: this node is writable now.')
      refreshStatus()
    },
    (err: unknown) => {
      if (page.request === current) page.request = null
      if (err instanceof AuthError && (err.code === 'ERR_CLOSED' || err.code === 'ERR_CANCELLED')) return
      show('request-waiting', false)
      $('request-status').textContent =
        err instanceof AuthError && err.code === 'ERR_DENIED' ? `Request ${err.message}. This device stays read-only.` : `Request failed: ${message(err)}`
      show('request-again', true)
      refreshStatus()
    }
  )
}

function addCode({ approverName, code }: ApproverCode): void {
  const list = $('request-codes')
  if (Array.from(list.children).some((li) => (li as HTMLElement).dataset.approver === approverName && (li as HTMLElement).dataset.code === code)) return
  const item = el(
    'li',
    { className: 'request-code' },
    el('span', { className: 'approver', textContent: approverName || 'A device with no name' }),
    ' shows ',
    el('strong', { className: 'code', textContent: code })
  )
  item.dataset.approver = approverName
  item.dataset.code = code
  list.append(item)
  show('request-waiting', false)
  $('request-status').textContent = 'Approve on that device only if its prompt shows the same code.'
  log(`"${approverName}" answered: code ${code}.`)
}

function addPrompt(prompt: AuthorisationPrompt): void {
  const approve = el('button', { type: 'button', className: 'approve', textContent: 'Authorise' })
  const deny = el('button', { type: 'button', className: 'deny', textContent: 'Deny' })
  const warnings = warningTexts(prompt)
  const card = el(
    'div',
    { className: 'card prompt' },
    el('p', {}, 'Authorise node ', el('em', { className: 'prompt-node', textContent: prompt.nodeName }), '?'),
    el('p', {}, 'Verification code ', el('strong', { className: 'code prompt-code', textContent: prompt.code })),
    ...(warnings.length
      ? [el('ul', { className: 'warnings' }, ...warnings.map(({ warning, text }) => el('li', { className: `warning-${warning}`, textContent: text })))]
      : []),
    el('p', { className: 'note', textContent: 'Approve only if the device you are adding shows the same code beside this device’s name.' }),
    el('div', { className: 'buttons' }, approve, deny)
  )
  card.dataset.nodeName = prompt.nodeName
  card.dataset.code = prompt.code
  card.dataset.warnings = warnings.map((w) => w.warning).join(' ')
  const answer = async (yes: boolean) => {
    approve.disabled = deny.disabled = true
    try {
      if (yes) await prompt.approve()
      else prompt.deny(`not approved on "${page.account?.nodeName ?? 'another device'}"`)
    } catch (err) {
      showError(`Could not answer "${prompt.nodeName}": ${message(err)}`)
      approve.disabled = deny.disabled = false
    }
  }
  approve.addEventListener('click', () => void answer(true))
  deny.addEventListener('click', () => void answer(false))
  prompts.set(prompt, card)
  $('prompts').append(card)
  log(`"${prompt.nodeName}" asks to be authorised (code ${prompt.code})${warnings.length ? `; warnings: ${warnings.map((w) => w.warning).join(', ')}` : ''}.`)
}
