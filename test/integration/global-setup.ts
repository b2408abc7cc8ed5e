// Placeholder until the process cluster lands (next commit).
export default async function globalSetup(): Promise<void> {}
