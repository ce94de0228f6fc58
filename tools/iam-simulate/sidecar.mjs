// The embedded default's IAM evaluator: @cloud-copilot/iam-simulate (unmodified, AGPL-3.0, run as its own
// process) answering one JSON request per stdin line with one JSON line on stdout.
// Request: {id, principal, action, resource, accountId, context, identityPolicies: [doc, ...], resourcePolicy?}
// Answer:  {id, result: "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied"} or {id, result: "Error", errors}
import readline from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let request
  try {
    request = JSON.parse(line)
    const simulation = {
      identityPolicies: request.identityPolicies.map((policy, i) => ({ name: `p${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy,
      request: {
        action: request.action,
        principal: request.principal,
        resource: { accountId: request.accountId, resource: request.resource },
        contextVariables: request.context ?? {},
      },
    }
    const result = await runSimulation(simulation, {})
    const answer = result.resultType === 'error'
      ? { id: request.id, result: 'Error', errors: result.errors }
      : { id: request.id, result: result.overallResult }
    process.stdout.write(JSON.stringify(answer) + '\n')
  } catch (error) {
    process.stdout.write(JSON.stringify({ id: request?.id, result: 'Error', errors: String(error) }) + '\n')
  }
}
