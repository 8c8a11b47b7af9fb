FROM node:22-alpine
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci \
 && npm cache clean --force
COPY . .
CMD ["node", "index.js"]
